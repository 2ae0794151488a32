// A stand-in for Headlamp's Go backend (headlamp-server), which the registries cannot give us:
// it serves the harness build and the endpoints Headlamp's frontend calls on it, as the real
// backend does: GET /config (the clusters), GET /plugins (the plugin list) and the plugin's
// main.js and package.json, and /clusters/<name>/... proxied to kube-apiserver with the
// kubeconfig's credentials, websocket watches included. Run: node e2e/server.mjs KUBECONFIG PORT
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLUSTER = 'main';
const PLUGIN = 'backupview-headlamp';

export function loadKubeconfig(file) {
  const kc = yaml.load(fs.readFileSync(file, 'utf8'));
  const ctx = kc.contexts.find(c => c.name === kc['current-context']).context;
  const cluster = kc.clusters.find(c => c.name === ctx.cluster).cluster;
  const user = kc.users.find(u => u.name === ctx.user).user;
  const rel = p => path.resolve(path.dirname(file), p);
  const data = (inline, f) => (inline ? Buffer.from(inline, 'base64') : f ? fs.readFileSync(rel(f)) : undefined);
  return {
    server: new URL(cluster.server),
    ca: data(cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: data(user['client-certificate-data'], user['client-certificate']),
    key: data(user['client-key-data'], user['client-key']),
    token: user.token,
  };
}

const TYPES = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html', '.json': 'application/json', '.svg': 'image/svg+xml', '.woff2': 'font/woff2', '.ttf': 'font/ttf' };

export function startServer({ kubeconfig, port = 0, staticDir, pluginDir, log = () => {} }) {
  const kc = loadKubeconfig(kubeconfig);
  const tlsOpts = { ca: kc.ca, cert: kc.cert, key: kc.key, ...(net.isIP(kc.server.hostname) ? {} : { servername: kc.server.hostname }) };
  const authHeaders = kc.token ? { Authorization: `Bearer ${kc.token}` } : {};

  function sendFile(res, file, fallback) {
    fs.readFile(file, (err, buf) => {
      if (err) {
        if (fallback) return sendFile(res, fallback);
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(buf);
    });
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const p = url.pathname;
    if (p === '/config') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          clusters: [{ name: CLUSTER, server: kc.server.href, auth_type: '', meta_data: { source: 'kubeconfig' } }],
          isDynamicClusterEnabled: false,
        })
      );
      return;
    }
    if (p === '/plugins') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify([{ name: PLUGIN, path: `plugins/${PLUGIN}`, type: 'shipped' }]));
      return;
    }
    if (p.startsWith(`/plugins/${PLUGIN}/`)) {
      const f = path.join(pluginDir, path.basename(p));
      return sendFile(res, f);
    }
    const m = p.match(/^\/clusters\/([^/]+)(\/.*)$/);
    if (m) {
      if (m[1] !== CLUSTER) return res.writeHead(404).end('no such cluster');
      const headers = { ...req.headers, ...authHeaders, host: kc.server.host };
      delete headers.cookie;
      delete headers.origin;
      delete headers.referer;
      const up = https.request(
        { ...tlsOpts, host: kc.server.hostname, port: kc.server.port, method: req.method, path: m[2] + url.search, headers },
        upRes => {
          log(`${req.method} ${m[2]}${url.search} -> ${upRes.statusCode}`);
          res.writeHead(upRes.statusCode, upRes.headers);
          upRes.pipe(res);
        }
      );
      up.on('error', e => {
        res.writeHead(502).end(String(e));
      });
      req.pipe(up);
      return;
    }
    const f = path.join(staticDir, path.normalize(p).replace(/^(\.\.[/\\])+/, ''));
    return sendFile(res, f.endsWith('/') ? path.join(f, 'index.html') : f, path.join(staticDir, 'index.html'));
  });

  // Websocket watches: the upgrade request goes to kube-apiserver as it came, over TLS with
  // the user's credentials, and the two sockets are joined.
  server.on('upgrade', (req, sock, head) => {
    const url = new URL(req.url, 'http://x');
    const m = url.pathname.match(/^\/clusters\/([^/]+)(\/.*)$/);
    if (!m) return sock.destroy();
    const up = tls.connect({ ...tlsOpts, host: kc.server.hostname, port: Number(kc.server.port) }, () => {
      // The websocket handshake of kube-apiserver (golang.org/x/net/websocket) needs an Origin.
      const headers = { ...req.headers, ...authHeaders, host: kc.server.host, origin: req.headers.origin ?? kc.server.origin };
      delete headers.cookie;
      // Headlamp's own subprotocol names a kubeconfig user; kube-apiserver needs only its own.
      if (headers['sec-websocket-protocol'])
        headers['sec-websocket-protocol'] = headers['sec-websocket-protocol']
          .split(',')
          .map(s => s.trim())
          .filter(s => !s.startsWith('base64url.headlamp'))
          .join(', ');
      let head0 = `${req.method} ${m[2]}${url.search} HTTP/1.1\r\n`;
      for (const [k, v] of Object.entries(headers)) head0 += `${k}: ${v}\r\n`;
      if (process.env.E2E_DEBUG_WS) console.log(head0);
      up.write(head0 + '\r\n');
      if (head && head.length) up.write(head);
      log(`WS ${m[2]}${url.search}`);
      up.pipe(sock);
      sock.pipe(up);
    });
    up.on('error', () => sock.destroy());
    sock.on('error', () => up.destroy());
  });

  return new Promise(resolve => server.listen(port, '127.0.0.1', () => resolve(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [kubeconfig, port = '0'] = process.argv.slice(2);
  const root = path.resolve(here, '../../..');
  startServer({
    kubeconfig,
    port: Number(port),
    staticDir: process.env.HARNESS_OUT || path.join(root, '_output/headlamp-harness'),
    pluginDir: process.env.PLUGIN_DIR || path.join(root, '_output/headlamp-plugins', PLUGIN),
    log: s => console.log(s),
  }).then(s => console.log(`Headlamp harness on http://127.0.0.1:${s.address().port}/`));
}
