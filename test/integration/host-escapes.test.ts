// The host escapes of issue 13 replayed on a daemon without user namespace remapping.
import { hostEscapeTests } from './host-escapes-cases.ts';

hostEscapeTests();
