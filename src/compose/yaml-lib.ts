// The `yaml` package, loaded on first use: a static import of an external package would be
// hoisted to the top of the CLI bundle and loaded by every berth command (start-up time is a
// benchmark), while only compose commands need it.
import { createRequire } from 'node:module';

type YamlLib = typeof import('yaml');
let lib: YamlLib | undefined;

export function yamlLib(): YamlLib {
  lib ??= createRequire(import.meta.url)('yaml') as YamlLib;
  return lib;
}
