// SPDX-License-Identifier: Apache-2.0
// rx_worker.js - a node worker of mizan's reactions (reactions/rx.c). It
// reads one "run" line at a time on fd 0 and answers on fd 1 (the worker
// protocol, reactions/rx_proto.h). Each reaction runs in a fresh vm
// context of its own; every helper is a synchronous call to the daemon,
// which acts and checks: this process holds no privilege (mizan starts it
// as nobody, with no_new_privs) and the context has no require, no
// process, no timers. The alert reaches the context as a JSON string,
// parsed there, and helper results come back as JSON strings parsed
// there too: no object of this realm is reachable from the reaction.
'use strict';
const fs = require('fs');
const vm = require('vm');

let pending = Buffer.alloc(0);
const chunk = Buffer.alloc(65536);

function readLine() {
  for (;;) {
    const i = pending.indexOf(10);
    if (i >= 0) {
      const line = pending.subarray(0, i).toString('utf8');
      pending = pending.subarray(i + 1);
      return line;
    }
    let n;
    try {
      n = fs.readSync(0, chunk, 0, chunk.length, null);
    } catch (e) {
      if (e.code === 'EAGAIN' || e.code === 'EINTR') continue;
      throw e;
    }
    if (n === 0) {
      globalThis.process.exit(0);
    }
    pending = Buffer.concat([pending, chunk.subarray(0, n)]);
  }
}

function send(obj) {
  const s = Buffer.from(JSON.stringify(obj) + '\n', 'utf8');
  let off = 0;
  while (off < s.length) {
    try {
      off += fs.writeSync(1, s, off, s.length - off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
}

// The bridge: op name and a JSON array of arguments in, a JSON string of
// {v, errno} out.
function bridge(op, argsJson) {
  send({ t: 'call', op: String(op), args: JSON.parse(String(argsJson)) });
  return readLine();
}

// Defines the helpers inside the context; the bridge is reachable only
// through these closures.
const PRELUDE = `(function (bridge) {
  'use strict';
  let lastErr = '';
  const call = (op, args) => {
    const r = JSON.parse(bridge(op, JSON.stringify(args)));
    lastErr = r.errno || '';
    return r.v;
  };
  const str = (v) => String(v);
  const opt = (v) => (v === undefined || v === null ? [] : [String(v)]);
  const defs = {
    Info: (m) => { call('Info', [str(m)]); },
    Warn: (m) => { call('Warn', [str(m)]); },
    Error: (m) => { call('Error', [str(m)]); },
    Errno: () => lastErr,
    NetBlockIp: (ip) => call('NetBlockIp', opt(ip)),
    NetUnblockIp: (ip) => call('NetUnblockIp', [str(ip)]),
    NetBlockIpTimer: (ip, s) => call('NetBlockIpTimer', [str(ip), Math.trunc(Number(s)) || 0]),
    NetBlockDomain: (d) => call('NetBlockDomain', opt(d)),
    KillCurrent: () => call('KillCurrent', []),
    KillParent: () => call('KillParent', []),
    KillProcess: (p) => call('KillProcess', [Math.trunc(Number(p)) || 0]),
    ReadFile: (p) => call('ReadFile', [str(p)]),
    WriteFile: (p, d) => call('WriteFile', [str(p), str(d)]),
    Stat: (p) => call('Stat', [str(p)]),
    CreateTempDir: (p) => call('CreateTempDir', opt(p)),
    RemoveDir: (p) => call('RemoveDir', [str(p)]),
    DataSet: (k, v) => call('DataSet', [str(k), str(v)]),
    DataGet: (k) => call('DataGet', [str(k)]),
    DataDelete: (k) => call('DataDelete', [str(k)]),
    DataPush: (k, v) => call('DataPush', v === undefined ? [str(k)] : [str(k), str(v)]),
    DataPop: (k) => call('DataPop', opt(k)),
    DataKeys: () => call('DataKeys', []),
    DataValues: () => call('DataValues', []),
    DataClear: () => call('DataClear', []),
    DataSize: () => call('DataSize', []),
    DataIsEmpty: () => call('DataIsEmpty', []),
    DataHasKey: (k) => call('DataHasKey', [str(k)]),
    DataHasValue: (v) => call('DataHasValue', [str(v)]),
    PowerOff: () => call('PowerOff', []),
    Panic: () => call('Panic', []),
  };
  for (const k of Object.keys(defs)) {
    Object.defineProperty(globalThis, k, { value: defs[k], writable: false, configurable: false });
  }
})`;

function runOne(job) {
  const ctx = vm.createContext(Object.create(null), {
    name: 'reaction',
    codeGeneration: { strings: false, wasm: false },
    microtaskMode: 'afterEvaluate',
  });
  const timeout = Math.max(1, job.timeout | 0);
  vm.runInContext(PRELUDE, ctx, { timeout })(bridge);
  ctx.__job = JSON.stringify({ kind: job.kind, name: job.name, uuid: job.uuid, data: job.data });
  vm.runInContext(
    `{ const j = JSON.parse(globalThis.__job); delete globalThis.__job;
       globalThis.kind = j.kind; globalThis.name = j.name; globalThis.uuid = j.uuid;
       globalThis.data = JSON.parse(j.data); }`,
    ctx, { timeout });
  vm.runInContext(String(job.code), ctx, { timeout, filename: job.name || 'reaction' });
  const has = vm.runInContext('typeof process === "function"', ctx, { timeout });
  if (!has) throw new Error('the reaction defines no process(data) function');
  vm.runInContext('void process(data)', ctx, { timeout });
}

for (;;) {
  const line = readLine();
  let job;
  try {
    job = JSON.parse(line);
  } catch (e) {
    send({ t: 'done', error: 'bad run line' });
    continue;
  }
  try {
    runOne(job);
    send({ t: 'done' });
  } catch (e) {
    let msg;
    try {
      msg = e && e.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT' ? 'timed out' : String(e && e.stack ? e.stack : e);
    } catch (e2) {
      msg = 'an exception';
    }
    send({ t: 'done', error: msg.slice(0, 1000) });
  }
}
