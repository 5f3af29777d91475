// The routing mesh and service discovery lab through the docker CLI: the representative part (swarm-mesh.ts).
import { meshSuite } from './swarm-mesh.js';

meshSuite('docker', { full: false });
