// The compose release whose behaviour berth's compose follows: docker compose v2.40.3 (the last
// v2 release, built on compose-go 2.9.1). Printed by `compose version` and put in the
// com.docker.compose.version label, where tools that read compose's labels expect a compose
// version.
export const COMPOSE_VERSION = '2.40.3';
