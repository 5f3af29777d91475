// Container names and IDs as docker makes and checks them.
//
//   validateName('web-1')     ok;  validateName('a') → throws "Invalid container name (a), only
//                                   [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
//   generateName()            → 'nimble_noether'   (adjective_surname, like docker's)
//   generateId()              → 64 lowercase hex characters, never numeric-looking in its short form
//   truncId('sha256:4e1f…')   → '4e1f…' (12 characters)
import { randomBytes, randomInt } from 'node:crypto';
import { invalid } from './errors.ts';

/** The characters docker allows, as it prints them in its error. */
export const NAME_CHARS = '[a-zA-Z0-9][a-zA-Z0-9_.-]';
// At least two characters: docker refuses one-character names.
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Whether docker would accept the name (one leading `/` allowed, as in `/web`). */
export function isValidName(name: string): boolean {
  return NAME_RE.test(name.startsWith('/') ? name.slice(1) : name);
}

/** Throws InvalidParameter with docker's text when the name is not acceptable. */
export function validateName(name: string): void {
  if (!isValidName(name)) throw invalid(`Invalid container name (${name}), only ${NAME_CHARS} are allowed`);
}

// Our own lists (not docker's): gentle adjectives and people who shaped computing, mathematics
// and science. Every combination must itself be a valid name (lowercase letters only).
const ADJECTIVES = [
  'agile', 'amber', 'ample', 'azure', 'bold', 'bright', 'brisk', 'calm', 'candid', 'careful', 'cheery',
  'civil', 'clear', 'cosmic', 'crisp', 'curious', 'daring', 'deft', 'devoted', 'earnest', 'even',
  'fair', 'fearless', 'fleet', 'fluent', 'frank', 'gallant', 'gentle', 'glad', 'golden', 'graceful',
  'hardy', 'hearty', 'honest', 'humble', 'jolly', 'keen', 'kindly', 'lively', 'loyal', 'lucid',
  'mellow', 'merry', 'mindful', 'modest', 'nimble', 'noble', 'patient', 'placid', 'plucky', 'polite',
  'proud', 'quiet', 'rapid', 'ready', 'robust', 'rosy', 'serene', 'sincere', 'sleek', 'snug', 'spry',
  'steady', 'sturdy', 'sunny', 'swift', 'tender', 'tidy', 'tranquil', 'trusty', 'upbeat', 'valiant',
  'vivid', 'warm', 'wise', 'witty', 'zesty',
];
const SURNAMES = [
  'agnesi', 'alhazen', 'archimedes', 'babbage', 'backus', 'bernoulli', 'bohr', 'boole', 'cantor',
  'cauchy', 'cerf', 'chandrasekhar', 'conway', 'curie', 'dijkstra', 'dirac', 'euclid', 'euler',
  'faraday', 'fermat', 'feynman', 'fibonacci', 'fourier', 'franklin', 'galois', 'gauss', 'germain',
  'godel', 'hamming', 'hilbert', 'hopper', 'huffman', 'hypatia', 'jacobi', 'kahan', 'kepler',
  'knuth', 'kovalevskaya', 'lagrange', 'lamarr', 'lamport', 'laplace', 'leibniz', 'liskov',
  'lovelace', 'maxwell', 'meitner', 'mirzakhani', 'napier', 'neumann', 'noether', 'nyquist',
  'pascal', 'planck', 'poincare', 'ramanujan', 'riemann', 'ritchie', 'shannon', 'somerville',
  'sutherland', 'tarjan', 'thompson', 'turing', 'venn', 'volta', 'wiles', 'wirth', 'yonath', 'zuse',
];

/**
 * A random `adjective_surname`. Like docker's GetRandomName, a retry (after a clash with an existing
 * name) appends a random digit: generateName(1) → 'calm_turing7'.
 */
export function generateName(retry = 0): string {
  const name = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${SURNAMES[randomInt(SURNAMES.length)]}`;
  return retry > 0 ? name + randomInt(10) : name;
}

/**
 * 32 random bytes as 64 lowercase hex characters. As docker does, an ID whose 12-character short
 * form would read as a number (all digits, or digits-e-digits such as `123e45678901`, which
 * parses as a float) is drawn again: the short ID is the container's hostname, and numeric
 * hostnames break tools. `random` is for tests.
 */
export function generateId(random: (size: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(32).toString('hex');
    if (!/^[0-9]+(e[0-9]+)?$/.test(truncId(id))) return id;
  }
}

/** The 12-character short form; an `algorithm:` prefix (`sha256:`) is dropped first. */
export function truncId(id: string): string {
  const colon = id.indexOf(':');
  const hex = colon >= 0 ? id.slice(colon + 1) : id;
  return hex.length > 12 ? hex.slice(0, 12) : hex;
}
