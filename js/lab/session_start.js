/**
 * Run All on a notebook that is still opening: wait for its file and its kernel instead of racing them.
 *
 * JupyterLab 4 (checked on 4.6.6) opens a notebook in steps: the panel first holds a new model's one
 * empty cell (under a spinner) until the file has loaded; the document then calls
 * `SessionContext.initialize()`, which lists the server's sessions and then starts the kernel. A
 * Run All chosen in those steps goes wrong three ways:
 * - before the file has loaded, it runs the one empty cell: the notebook's cells are left unrun,
 *   and that cell's `startKernel()` starts a session which `initialize()` then finds by path;
 * - while `initialize()` lists sessions, `hasNoKernel` is true and each code cell calls
 *   `startKernel()`, which starts a second session that `initialize()` finds by path.
 *   In both cases `initialize()` connects to that kernel a second time, `KernelManager.connectTo`
 *   gives the second connection `handleComms = false` (the first one still lives), and the first is
 *   disposed: the page ignores every widget message ("model not found");
 * - while the kernel starts, `CodeCell.execute()` finds no kernel and leaves the cell unrun.
 *
 * The patch makes each of these wait for what is under way:
 * - `NotebookActions.runAll()` on a notebook whose file has not loaded waits for it;
 * - `startKernel()` while `initialize()` runs (or, for a notebook, before its document has called
 *   `initialize()`) waits for it and starts nothing when it brought a kernel; `initialize()`'s own
 *   call (through `_startIfNecessary`) goes through as before;
 * - `CodeCell.execute()` on a session context with no kernel yet waits for the same start-up.
 * Where JupyterLab's classes do not have the expected shape, nothing is patched.
 *
 * Pure: takes the classes, imports nothing from JupyterLab (tested with stand-ins in vitest).
 */

const PATCHED = Symbol.for("netviz-widget.session-start");

function missingMethods({ SessionContext, CodeCell, NotebookActions }) {
  const proto = SessionContext?.prototype;
  const missing = ["initialize", "startKernel", "_startIfNecessary"]
    .filter((name) => typeof proto?.[name] !== "function")
    .map((name) => `SessionContext.${name}`);
  if (typeof CodeCell?.execute !== "function") missing.push("CodeCell.execute");
  if (typeof NotebookActions?.runAll !== "function") missing.push("NotebookActions.runAll");
  return missing;
}

/** Wait for `promise`; its failure is reported by JupyterLab itself (a dialog), not here. */
async function settled(promise) {
  try {
    await promise;
  } catch {
    // the caller goes on as JupyterLab would have
  }
}

/**
 * Patch `SessionContext.prototype`, `CodeCell.execute` and `NotebookActions.runAll` in place.
 * @param {object} classes JupyterLab's `SessionContext` (@jupyterlab/apputils), `CodeCell`
 *   (@jupyterlab/cells) and `NotebookActions` (@jupyterlab/notebook), and `findContext(notebook)`,
 *   which returns a notebook widget's document context (`isReady`, `ready`) or undefined.
 * @returns {{patched: boolean, reason: string, expectInitialize: (context: object) => void}}
 *   `expectInitialize(sessionContext)` marks a session context whose document will call
 *   `initialize()` (a notebook's): a `startKernel()` before that call waits for it.
 */
export function patchSessionStart({ SessionContext, CodeCell, NotebookActions, findContext }) {
  const missing = missingMethods({ SessionContext, CodeCell, NotebookActions });
  if (missing.length) {
    return {
      patched: false,
      reason: `unexpected JupyterLab classes: no ${missing.join(", ")}`,
      expectInitialize() {},
    };
  }
  const proto = SessionContext.prototype;
  if (proto[PATCHED]) return { ...proto[PATCHED], patched: false, reason: "already patched" };

  const startUps = new WeakMap(); // session context -> its first initialize() promise, until it settles
  const expected = new WeakMap(); // session context -> {promise, resolve}: initialize() not called yet
  const insideInitialize = new WeakSet(); // session contexts whose initialize() is starting the kernel
  const initializeCalled = new WeakSet();
  const original = {
    initialize: proto.initialize,
    startKernel: proto.startKernel,
    startIfNecessary: proto._startIfNecessary,
    execute: CodeCell.execute,
    runAll: NotebookActions.runAll,
  };

  function expectInitialize(context) {
    if (!context || initializeCalled.has(context) || expected.has(context)) return;
    let resolve;
    const promise = new Promise((r) => {
      resolve = r;
    });
    expected.set(context, { promise, resolve });
    // a document closed before it loads never calls initialize()
    context.disposed?.connect?.(() => resolve(undefined));
  }

  /** The start-up under way for this session context, or null when none is. */
  function startUpFor(context) {
    const running = startUps.get(context);
    if (running) return running;
    const pending = expected.get(context);
    return pending ? pending.promise.then(() => startUps.get(context)) : null;
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

  NotebookActions.runAll = function runAll(notebook, sessionContext, ...rest) {
    const context = findContext?.(notebook);
    if (context?.isReady !== false) return original.runAll.call(this, notebook, sessionContext, ...rest);
    // the file is loading: its document calls initialize() once it has loaded
    expectInitialize(sessionContext);
    return context.ready.then(
      () => original.runAll.call(this, notebook, sessionContext, ...rest),
      () => false,
    );
  };

  const handle = { patched: true, reason: "patched", expectInitialize };
  proto[PATCHED] = handle;
  return handle;
}
