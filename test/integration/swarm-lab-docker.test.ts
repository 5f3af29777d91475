// The seeds' swarm lab through the docker CLI against berthd (swarm-lab.ts): everything but the
// long rolling-update step, which the berth CLI's run covers.
import { labSuite } from './swarm-lab.js';
import { hasDocker } from './harness.js';
import { describe } from 'node:test';

if (hasDocker) labSuite('docker', { rollingUpdates: false });
else describe('swarm lab (docker CLI)', { skip: 'the docker CLI is not installed' }, () => {});
