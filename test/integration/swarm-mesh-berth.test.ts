// The routing mesh and service discovery lab through berth's CLI (swarm-mesh.ts).
import { meshSuite } from './swarm-mesh.js';

meshSuite('berth', { full: true });
