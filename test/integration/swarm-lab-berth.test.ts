// The seeds' swarm lab, all of it, through the berth CLI (swarm-lab.ts).
import { labSuite } from './swarm-lab.js';

labSuite('berth', { rollingUpdates: true });
