/**
 * Run All on a notebook whose kernel is still starting: wait for that kernel instead of racing it.
 *
 * JupyterLab 4 (checked on 4.6) starts a just-opened notebook's kernel in
 * `SessionContext.initialize()`, which first asks the server for running sessions. A Run All chosen
 * in that time finds `hasNoKernel` true, so each code cell calls `startKernel()`, which starts a
 * second session; `initialize()` then finds that session by path and connects to its kernel again.
 * `KernelManager.connectTo` gives the second connection `handleComms = false` (the first one still
 * lives) and then the first is disposed: the page ignores every widget message ("model not found").
 * A Run All chosen a little later, while the kernel is starting, finds no kernel in
 * `CodeCell.execute` and leaves every cell but the first unrun.
 *
 * The patch makes both calls wait for the start-up that is already under way:
 * - `startKernel()` called while `initialize()` runs (or, for a notebook, before its document has
 *   called `initialize()`) waits for it, and starts nothing when it brought a kernel;
 * - `CodeCell.execute()` on a session context that has no kernel yet waits for the same start-up.
 * `initialize()`'s own call to `startKernel()` (through `_startIfNecessary`) goes through as before.
 * Where JupyterLab's classes do not have the expected shape, nothing is patched.
 *
 * Pure: takes the classes, imports nothing from JupyterLab (tested with stand-ins in vitest).
 */

const PATCHED = Symbol.for("netviz-widget.session-start");
const NEEDED = ["initialize", "startKernel", "_startIfNecessary"];

/**
 * Patch `SessionContext.prototype` and `CodeCell.execute` in place.
 * @param {Function} SessionContext JupyterLab's class (`@jupyterlab/apputils`).
 * @param {{execute: Function}} CodeCell JupyterLab's class (`@jupyterlab/cells`).
 * @returns {{patched: boolean, reason: string, expectInitialize: (context: object) => void}}
 *   `expectInitialize(context)` marks a session context whose document will call `initialize()`
 *   (a notebook's): a `startKernel()` before that call waits for it.
 */
export function patchSessionStart(SessionContext, CodeCell) {
  const proto = SessionContext?.prototype;
  const missing = NEEDED.filter((name) => typeof proto?.[name] !== "function");
  if (typeof CodeCell?.execute !== "function") missing.push("CodeCell.execute");
  if (missing.length) {
    return {
      patched: false,
      reason: `unexpected JupyterLab classes: no ${missing.join(", ")}`,
      expectInitialize() {},
    };
  }
  if (proto[PATCHED]) return { ...proto[PATCHED], patched: false, reason: "already patched" };

  const startUps = new WeakMap(); // context -> its first initialize() promise, until it settles
  const expected = new WeakMap(); // context -> {promise, resolve}: initialize() not called yet
  const insideInitialize = new WeakSet(); // contexts whose initialize() is starting the kernel
  const initializeCalled = new WeakSet();

  const original = {
    initialize: proto.initialize,
    startKernel: proto.startKernel,
    startIfNecessary: proto._startIfNecessary,
    execute: CodeCell.execute,
  };

  function expectInitialize(context) {
    if (!context || initializeCalled.has(context) || expected.has(context)) return;
    let resolve;
    const promise = new Promise((r) => {
      resolve = r;
    });
    expected.set(context, { promise, resolve });
    // a document that is closed before it loads never calls initialize()
    context.disposed?.connect?.(() => resolve(undefined));
  }

  /** The start-up under way for this context (null when none is). */
  function startUpFor(context) {
    const running = startUps.get(context);
    if (running) return running;
    const pending = expected.get(context);
    return pending ? pending.promise.then(() => startUps.get(context)) : null;
  }

  async function settled(promise) {
    try {
      await promise;
    } catch {
      // initialize() reports its own failure (a dialog); the caller goes on as JupyterLab would
    }
  }

  proto.initialize = function initialize(...args) {
    const result = original.initialize.apply(this, args);
    if (!initializeCalled.has(this)) {
      initializeCalled.add(this);
      startUps.set(this, result);
      const done = () => startUps.delete(this);
      result.then(done, done);
      expected.get(this)?.resolve(undefined);
      expected.delete(this);
    }
    return result;
  };

  proto._startIfNecessary = async function _startIfNecessary(...args) {
    insideInitialize.add(this);
    try {
      return await original.startIfNecessary.apply(this, args);
    } finally {
      insideInitialize.delete(this);
    }
  };

  proto.startKernel = async function startKernel(...args) {
    // initialize()'s own start goes through
    const startUp = insideInitialize.has(this) ? null : startUpFor(this);
    if (startUp) {
      await settled(startUp);
      if (this.isDisposed || this.session?.kernel) return false; // nothing to start, nothing to pick
    }
    return original.startKernel.apply(this, args);
  };

  CodeCell.execute = async function execute(cell, sessionContext, ...rest) {
    if (sessionContext && !sessionContext.session?.kernel) {
      const startUp = startUpFor(sessionContext);
      if (startUp) await settled(startUp);
    }
    return original.execute.call(this, cell, sessionContext, ...rest);
  };

  const handle = { patched: true, reason: "patched", expectInitialize };
  proto[PATCHED] = handle;
  return handle;
}
