// Expectations captured from docker CLI 28.2.2's `docker stack deploy --resolve-image never`
// against test/tools/stack-recorder.mjs: the POST bodies it sent, committed as literals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadProject } from '../load.ts';
import { convertStack, LOAD_NAME } from './convert.ts';

/** Loads one compose document the way `stack deploy` does (under the sentinel name). */
function stack(yaml: string, name: string) {
  const p = loadProject({
    files: [{ filename: '/srv/app/compose.yaml', content: yaml }], workingDir: '/srv/app',
    environment: {}, projectName: { name: LOAD_NAME, explicit: true }, allResources: true,
  });
  return convertStack(p, name);
}

/** What docker posted, in the converter's shape: networks in order, services by their names. */
function converted(s: ReturnType<typeof stack>) {
  return { networks: s.networks, services: Object.fromEntries(Object.values(s.services).map((x) => [x.Name, x])) };
}

const SHOP_POSTED = {"networks":[{"Driver":"overlay","Scope":"","IPAM":null,"Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{"foo":"bar"},"Labels":{"com.docker.stack.namespace":"shop","n":"1"},"Name":"shop_back"},{"Driver":"overlay","Scope":"","IPAM":null,"Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":null,"Labels":{"com.docker.stack.namespace":"shop"},"Name":"shop_default"}],"services":{"shop_web":{"Name":"shop_web","Labels":{"com.docker.stack.image":"nginx:1.27","com.docker.stack.namespace":"shop","s.label":"y"},"TaskTemplate":{"ContainerSpec":{"Image":"nginx:1.27","Labels":{"c.label":"x","com.docker.stack.namespace":"shop"},"Command":["/docker-entrypoint.sh"],"Args":["nginx","-g","daemon off;"],"Hostname":"webhost","Env":["A=1","B=two"],"Dir":"/srv","User":"101","Privileges":{"CredentialSpec":null,"SELinuxContext":null,"NoNewPrivileges":false},"Init":true,"TTY":true,"ReadOnly":true,"Mounts":[{"Type":"volume","Source":"shop_data","Target":"/data","VolumeOptions":{"Labels":{"com.docker.stack.namespace":"shop"}}},{"Type":"bind","Source":"/srv/static","Target":"/static","ReadOnly":true}],"StopGracePeriod":20000000000,"Healthcheck":{"Test":["CMD","curl","-f","http://localhost"],"Interval":10000000000,"Timeout":3000000000,"StartPeriod":5000000000,"Retries":4}},"Resources":{"Limits":{"NanoCPUs":500000000,"MemoryBytes":268435456},"Reservations":{"NanoCPUs":250000000,"MemoryBytes":67108864}},"RestartPolicy":{"Condition":"on-failure","Delay":5000000000,"MaxAttempts":3,"Window":120000000000},"Placement":{"Constraints":["node.role == worker"],"Preferences":[{"Spread":{"SpreadDescriptor":"node.labels.zone"}}],"MaxReplicas":2},"Networks":[{"Target":"shop_default","Aliases":["web"]}],"ForceUpdate":0},"Mode":{"Replicated":{"Replicas":3}},"UpdateConfig":{"Parallelism":2,"Delay":10000000000,"FailureAction":"rollback","Monitor":30000000000,"MaxFailureRatio":0.3,"Order":"start-first"},"RollbackConfig":{"Parallelism":1,"MaxFailureRatio":0,"Order":"stop-first"},"EndpointSpec":{"Mode":"vip","Ports":[{"Protocol":"tcp","TargetPort":80,"PublishedPort":8080,"PublishMode":"ingress"},{"Protocol":"tcp","TargetPort":443,"PublishedPort":8443,"PublishMode":"host"}]}},"shop_worker":{"Name":"shop_worker","Labels":{"com.docker.stack.image":"busybox","com.docker.stack.namespace":"shop"},"TaskTemplate":{"ContainerSpec":{"Image":"busybox:latest","Labels":{"com.docker.stack.namespace":"shop"},"Args":["sleep","1000"],"Privileges":{"CredentialSpec":null,"SELinuxContext":null,"NoNewPrivileges":false}},"Resources":{},"Placement":{},"Networks":[{"Target":"shop_back","Aliases":["worker"]}],"ForceUpdate":0},"Mode":{"Global":{}},"EndpointSpec":{"Mode":"dnsrr"}}}};
const A_POSTED = {"networks":[{"Driver":"overlay","Scope":"","IPAM":{"Driver":"","Options":null,"Config":[{"Subnet":"10.20.0.0/24"}]},"Internal":true,"Attachable":true,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":null,"Labels":{"com.docker.stack.namespace":"st"},"Name":"frontnet"}],"services":{"st_app":{"Name":"st_app","Labels":{"com.docker.stack.image":"registry.example.com/team/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","com.docker.stack.namespace":"st"},"TaskTemplate":{"ContainerSpec":{"Image":"registry.example.com/team/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","Labels":{"com.docker.stack.namespace":"st"},"Env":["ONLY_NAME","X=1"],"Privileges":{"CredentialSpec":null,"SELinuxContext":null,"NoNewPrivileges":false},"Mounts":[{"Type":"volume","Target":"/cache"},{"Type":"tmpfs","Target":"/tmp","TmpfsOptions":{"SizeBytes":1048576}},{"Type":"volume","Source":"my-volume","Target":"/named","VolumeOptions":{"NoCopy":true,"Labels":{"com.docker.stack.namespace":"st"},"DriverConfig":{"Name":"local","Options":{"type":"tmpfs"}}}}],"Healthcheck":{"Test":["NONE"]}},"Resources":{},"RestartPolicy":{"Condition":"on-failure","MaxAttempts":3},"Placement":{},"Networks":[{"Target":"frontnet","Aliases":["app-alias","app"]},{"Target":"outside","Aliases":["app"]}],"ForceUpdate":0},"Mode":{"Replicated":{}},"EndpointSpec":{"Ports":[{"Protocol":"tcp","TargetPort":9000,"PublishMode":"ingress"},{"Protocol":"udp","TargetPort":53,"PublishedPort":53,"PublishMode":"ingress"}]}}},"out":"Ignoring unsupported options: privileged, restart\n\nIgnoring deprecated options:\n\ncontainer_name: Setting the container name is not supported.\n\nexpose: Exposing ports is unnecessary - services on the same network can access each other's containers on any port.\n\nSince --detach=false was not specified, tasks will be created in the background.\nIn a future release, --detach=false will become the default.\nCreating network frontnet\nCreating service st_app\n"};
const B_POSTED = {"networks":[{"Driver":"overlay","Scope":"","IPAM":null,"Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":null,"Labels":{"com.docker.stack.namespace":"st"},"Name":"st_default"}],"services":{"st_job":{"Name":"st_job","Labels":{"com.docker.stack.image":"alpine:3.20","com.docker.stack.namespace":"st"},"TaskTemplate":{"ContainerSpec":{"Image":"alpine:3.20","Labels":{"com.docker.stack.namespace":"st"},"Privileges":{"CredentialSpec":null,"SELinuxContext":null,"NoNewPrivileges":false}},"Resources":{},"RestartPolicy":{"Condition":"any"},"Placement":{},"Networks":[{"Target":"st_default","Aliases":["job"]}],"ForceUpdate":0},"Mode":{"Replicated":{"Replicas":0}},"UpdateConfig":{"Parallelism":0,"MaxFailureRatio":0,"Order":""},"EndpointSpec":{}}},"out":"Ignoring unsupported options: restart\n\nSince --detach=false was not specified, tasks will be created in the background.\nIn a future release, --detach=false will become the default.\nCreating network st_default\nCreating service st_job\n"};
const C_POSTED = {"networks":[{"Driver":"overlay","Scope":"","IPAM":null,"Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":null,"Labels":{"com.docker.stack.namespace":"st"},"Name":"st_default"}],"services":{"st_misc":{"Name":"st_misc","Labels":{"com.docker.stack.image":"alpine:3.20","com.docker.stack.namespace":"st"},"TaskTemplate":{"ContainerSpec":{"Image":"alpine:3.20","Labels":{"com.docker.stack.namespace":"st"},"Privileges":{"CredentialSpec":null,"SELinuxContext":null,"NoNewPrivileges":false},"StopSignal":"SIGUSR1","OpenStdin":true,"Hosts":["10.0.0.5 db.local"],"DNSConfig":{"Nameservers":["1.1.1.1"],"Search":["example.com"]},"Isolation":"default","Sysctls":{"net.core.somaxconn":"1024"},"CapabilityAdd":["CAP_NET_ADMIN"],"CapabilityDrop":["CAP_MKNOD"],"Ulimits":[{"Name":"nofile","Hard":2000,"Soft":1000},{"Name":"nproc","Hard":500,"Soft":500}]},"Resources":{"Limits":{"Pids":100}},"Placement":{},"Networks":[{"Target":"st_default","Aliases":["misc"]}],"LogDriver":{"Name":"json-file","Options":{"max-size":"10m"}},"ForceUpdate":0},"Mode":{"Replicated":{}},"EndpointSpec":{}}}};

const SHOP_YAML = `
services:
  web:
    image: nginx:1.27
    command: ["nginx", "-g", "daemon off;"]
    entrypoint: /docker-entrypoint.sh
    environment:
      A: "1"
      B: two
    labels:
      c.label: x
    user: "101"
    working_dir: /srv
    hostname: webhost
    tty: true
    read_only: true
    init: true
    stop_grace_period: 20s
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost"]
      interval: 10s
      timeout: 3s
      retries: 4
      start_period: 5s
    ports:
      - "8080:80"
      - target: 443
        published: 8443
        protocol: tcp
        mode: host
    volumes:
      - data:/data
      - /srv/static:/static:ro
    build: ./web
    deploy:
      mode: replicated
      replicas: 3
      labels:
        s.label: y
      endpoint_mode: vip
      placement:
        constraints: [node.role == worker]
        preferences:
          - spread: node.labels.zone
        max_replicas_per_node: 2
      update_config:
        parallelism: 2
        delay: 10s
        failure_action: rollback
        monitor: 30s
        max_failure_ratio: 0.3
        order: start-first
      rollback_config:
        parallelism: 1
        order: stop-first
      restart_policy:
        condition: on-failure
        delay: 5s
        max_attempts: 3
        window: 2m
      resources:
        limits:
          cpus: "0.5"
          memory: 256M
        reservations:
          cpus: "0.25"
          memory: 64M
  worker:
    image: busybox
    command: sleep 1000
    networks: [back]
    deploy:
      mode: global
      endpoint_mode: dnsrr
volumes:
  data:
networks:
  back:
    driver_opts:
      foo: bar
    labels:
      n: "1"
`;
const A_YAML = `
services:
  app:
    image: registry.example.com/team/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
    restart: on-failure:3
    environment: [ONLY_NAME, X=1]
    healthcheck:
      disable: true
    volumes:
      - /cache
      - type: tmpfs
        target: /tmp
        tmpfs:
          size: 1048576
      - type: volume
        source: named
        target: /named
        volume:
          nocopy: true
    networks:
      front:
        aliases: [app-alias]
      ext:
    ports:
      - "9000"
      - "53:53/udp"
    expose: ["80"]
    container_name: xx
    privileged: true
volumes:
  named:
    name: my-volume
    driver: local
    driver_opts:
      type: tmpfs
networks:
  front:
    name: frontnet
    driver: overlay
    attachable: true
    internal: true
    ipam:
      config:
        - subnet: 10.20.0.0/24
  ext:
    external: true
    name: outside
`;
const B_YAML = `
services:
  job:
    image: alpine:3.20
    restart: always
    deploy:
      replicas: 0
      update_config:
        parallelism: 0
`;
const C_YAML = `
services:
  misc:
    image: alpine:3.20
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    sysctls:
      net.core.somaxconn: "1024"
    stop_signal: SIGUSR1
    extra_hosts:
      - "db.local:10.0.0.5"
    dns: [1.1.1.1]
    dns_search: [example.com]
    logging:
      driver: json-file
      options:
        max-size: 10m
    ulimits:
      nofile:
        soft: 1000
        hard: 2000
      nproc: 500
    isolation: default
    stdin_open: true
    deploy:
      resources:
        limits:
          pids: 100
`;

test('stack convert: every field docker 28 sends for a full service (image, command, env, labels, deploy.*, mounts, ports, networks)', () => {
  const s = stack(SHOP_YAML, 'shop');
  assert.deepEqual(converted(s), SHOP_POSTED);
  assert.deepEqual(s.unsupported, ['build']);
  assert.deepEqual(s.externalNetworks, []);
});

test('stack convert: restart on-failure:N, env without value, anonymous/tmpfs/named-with-name volumes, aliases, named and external networks, ipam', () => {
  const s = stack(A_YAML, 'st');
  const { out, ...posted } = A_POSTED;
  assert.deepEqual(converted(s), posted);
  assert.deepEqual(s.externalNetworks, ['outside']);
  assert.deepEqual(s.unsupported, ['privileged', 'restart']);
  assert.deepEqual(s.deprecated.map(([k]) => k), ['container_name', 'expose']);
  // docker's warning texts, as the CLI prints them (deploy.ts formats; the explanations are here).
  for (const [k, why] of s.deprecated) assert.ok(out.includes(`${k}: ${why}\n`), k);
});

test('stack convert: restart always is condition any, replicas 0 and parallelism 0 are sent, the default network is created', () => {
  const s = stack(B_YAML, 'st');
  const { out: _out, ...posted } = B_POSTED;
  assert.deepEqual(converted(s), posted);
});

test('stack convert: a global service is Mode.Global, the stack name scopes services, networks and volumes', () => {
  const s = stack('services:\n  a:\n    image: x\n    deploy: { mode: global }\n    volumes:\n      - vol:/v\nvolumes:\n  vol: {}\n', 'other');
  const a = s.services.a;
  assert.equal(a.Name, 'other_a');
  assert.deepEqual(a.Mode, { Global: {} });
  const c = a.TaskTemplate!.ContainerSpec as { Mounts: Array<{ Source: string }>; Image: string };
  assert.equal(c.Mounts[0].Source, 'other_vol');
  assert.equal(c.Image, 'x:latest');
  assert.deepEqual(s.networks.map((n) => n.Name), ['other_default']);
});

test('stack convert: caps (CAP_ added), sysctls, stop signal, extra hosts, dns, isolation, ulimits, logging, pids limit, stdin_open', () => {
  assert.deepEqual(converted(stack(C_YAML, 'st')), C_POSTED);
});

// Captured from docker CLI 28.2.2 (`docker stack deploy --resolve-image never -c compose.yaml st`
// against test/tools/stack-recorder.mjs, pw.txt holding "s3cret\n", app.conf "listen 80\n"): the
// object creates in the order docker's map gave them, and the service's references without the
// IDs (SecretID/ConfigID are looked up by the CLI once the objects exist).
const SEC_YAML = `
services:
  web:
    image: nginx:1.27
    secrets:
      - pw
      - source: token
        target: tok
        uid: "101"
        gid: "102"
        mode: 0400
    configs:
      - source: appconf
        target: /etc/app.conf
      - named
secrets:
  pw:
    file: ./pw.txt
    labels:
      a: b
  token:
    file: ./pw.txt
  ext:
    external: true
configs:
  appconf:
    file: ./app.conf
  named:
    name: my-named-config
    file: ./app.conf
`;
const SEC_POSTED_OBJECTS = {
  secrets: [{"Name":"st_pw","Labels":{"a":"b","com.docker.stack.namespace":"st"},"Data":"czNjcmV0Cg=="},{"Name":"st_token","Labels":{"com.docker.stack.namespace":"st"},"Data":"czNjcmV0Cg=="}],
  configs: [{"Name":"my-named-config","Labels":{"com.docker.stack.namespace":"st"},"Data":"bGlzdGVuIDgwCg=="},{"Name":"st_appconf","Labels":{"com.docker.stack.namespace":"st"},"Data":"bGlzdGVuIDgwCg=="}],
};
const SEC_POSTED_CONTAINER = {"Image":"nginx:1.27","Labels":{"com.docker.stack.namespace":"st"},"Privileges":{"CredentialSpec":null,"SELinuxContext":null,"NoNewPrivileges":false},"Secrets":[{"File":{"Name":"pw","UID":"0","GID":"0","Mode":292},"SecretID":"sec0002abcdefghijklmnopqr","SecretName":"st_pw"},{"File":{"Name":"tok","UID":"101","GID":"102","Mode":256},"SecretID":"sec0003abcdefghijklmnopqr","SecretName":"st_token"}],"Configs":[{"File":{"Name":"named","UID":"0","GID":"0","Mode":292},"ConfigID":"con0004abcdefghijklmnopqr","ConfigName":"my-named-config"},{"File":{"Name":"/etc/app.conf","UID":"0","GID":"0","Mode":292},"ConfigID":"con0005abcdefghijklmnopqr","ConfigName":"st_appconf"}]};

/** Drops the IDs docker's ParseSecrets/ParseConfigs added: what the converter itself gives. */
function withoutIds(c: Record<string, unknown>) {
  const strip = (refs: unknown) => (refs as Array<Record<string, unknown>>).map(({ SecretID: _s, ConfigID: _c, ...r }) => r);
  return { ...c, Secrets: strip(c.Secrets), Configs: strip(c.Configs) };
}

test('stack convert: top-level secrets and configs (file, name:, labels, external skipped) and the service references as docker 28 posts them', () => {
  const s = stack(SEC_YAML, 'st');
  const data: Record<string, string> = { '/srv/app/pw.txt': 's3cret\n', '/srv/app/app.conf': 'listen 80\n' };
  const posted = (o: { Name: string; Labels: Record<string, string>; file?: string }) => ({ Name: o.Name, Labels: o.Labels, Data: Buffer.from(data[o.file!]).toString('base64') });
  assert.deepEqual({ secrets: s.secrets.map(posted), configs: s.configs.map(posted) }, SEC_POSTED_OBJECTS);
  assert.deepEqual(s.services.web.TaskTemplate!.ContainerSpec, withoutIds(SEC_POSTED_CONTAINER));
  assert.deepEqual(s.notSupported, []);
});

test('stack convert: an unused secret is still created; an explicit /run/secrets target differs from the source and is kept; environment and content sources', () => {
  const s = stack('services:\n  a:\n    image: x\n    secrets:\n      - source: pw\n        target: /run/secrets/other\nsecrets:\n  pw:\n    environment: PW\n  unused:\n    file: ./u\nconfigs:\n  inline:\n    content: hello\n', 'st');
  assert.deepEqual(s.secrets, [
    { Name: 'st_pw', Labels: { 'com.docker.stack.namespace': 'st' }, environment: 'PW' },
    { Name: 'st_unused', Labels: { 'com.docker.stack.namespace': 'st' }, file: '/srv/app/u' },
  ]);
  assert.deepEqual(s.configs, [{ Name: 'st_inline', Labels: { 'com.docker.stack.namespace': 'st' }, content: 'hello' }]);
  assert.deepEqual((s.services.a.TaskTemplate!.ContainerSpec as { Secrets: unknown }).Secrets, [{ File: { Name: '/run/secrets/other', UID: '0', GID: '0', Mode: 0o444 }, SecretName: 'st_pw' }]);
});

test('stack convert: secret drivers and template drivers are listed as not supported (the CLI refuses them), nothing else is', () => {
  const s = stack('services:\n  a:\n    image: x\nsecrets:\n  d:\n    file: ./s\n    driver: vault\nconfigs:\n  t:\n    file: ./cf\n    template_driver: golang\n', 'st');
  assert.deepEqual(s.notSupported, ['secrets.d.driver', 'configs.t.template_driver']);
  assert.deepEqual(stack(B_YAML, 'st').notSupported, []);
});

test('stack convert: port ranges are one port config per port, as docker 28 sends them', () => {
  const s = stack('services:\n  p:\n    image: alpine\n    ports:\n      - "8000-8001:80-81"\n      - "9000-9002:90"\n', 'st');
  // Captured: docker stack deploy posted this EndpointSpec.
  assert.deepEqual(s.services.p.EndpointSpec, { Ports: [
    { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8000, PublishMode: 'ingress' },
    { Protocol: 'tcp', TargetPort: 81, PublishedPort: 8001, PublishMode: 'ingress' },
    { Protocol: 'tcp', TargetPort: 90, PublishedPort: 9000, PublishMode: 'ingress' },
    { Protocol: 'tcp', TargetPort: 90, PublishedPort: 9001, PublishMode: 'ingress' },
    { Protocol: 'tcp', TargetPort: 90, PublishedPort: 9002, PublishMode: 'ingress' },
  ] });
});
