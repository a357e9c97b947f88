/**
 * Run All on a notebook that is still opening: wait for its file and its kernel instead of racing them.
 *
 * JupyterLab 4 (checked on 4.6.6) opens a notebook in steps: until its file has loaded, the panel
 * holds a new model's one empty cell (under a spinner, the Run menu already enabled); the document
 * then resolves `context.ready`, asks the server for a checkpoint, and only then calls
 * `SessionContext.initialize()`, which lists the server's sessions and then starts the kernel. A Run
 * All chosen during these steps goes wrong three ways:
 * - before the file has loaded, it runs the one empty cell: the notebook's cells are left unrun,
 *   and that cell's `startKernel()` starts a session which `initialize()` later finds by path;
 * - while `initialize()` is not called yet or lists sessions, `hasNoKernel` is true and the first
 *   code cell calls `startKernel()`, which starts a session that `initialize()` finds by path (the
 *   other cells find no kernel in `CodeCell.execute` and are left unrun).
 *   In both cases `initialize()` connects to that kernel a second time, `KernelManager.connectTo`
 *   gives the second connection `handleComms = false` (the first one still lives), and the first is
 *   disposed: the page ignores every widget message ("model not found");
 * - while the kernel starts, `CodeCell.execute()` finds no kernel and leaves the cell unrun.
 *
 * The patch makes each of these wait for what is under way:
 * - `NotebookActions.runAll()` on a notebook whose file has not loaded waits for it (a second Run
 *   All meanwhile joins the first), and expects the document's `initialize()`;
 * - `startKernel()` while `initialize()` runs, or before an expected `initialize()`, waits for it and
 *   starts nothing when it brought a kernel; the cells that waited share one start otherwise.
 *   `initialize()`'s own call (synchronous, from `_startIfNecessary`) goes through as before;
 * - `CodeCell.execute()` on a session context with no kernel yet waits for the same start-up.
 * An expected `initialize()` is given up when its session context is disposed, or 60 s after its
 * file has loaded. Where JupyterLab's classes do not have the expected shape, nothing is patched.
 *
 * Pure: takes the classes, imports nothing from JupyterLab (tested with stand-ins in vitest).
 */

const PATCHED = Symbol.for("netviz-widget.session-start");
/** How long after its file has loaded a document may take to call initialize() (a checkpoint). */
export const INITIALIZE_GRACE_MS = 60_000;

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

/** A promise that resolves when `owner` (a Lumino object) is disposed; never if it has no signal. */
function whenDisposed(owner) {
  return new Promise((resolve) => {
    if (owner?.isDisposed) resolve(undefined);
    else owner?.disposed?.connect?.(() => resolve(undefined));
  });
}

/** Remember `promise` under `key` in `map` until it settles. */
function keepUntilSettled(map, key, promise) {
  map.set(key, promise);
  const forget = () => {
    if (map.get(key) === promise) map.delete(key);
  };
  promise.then(forget, forget);
  return promise;
}

/**
 * The plugin's activation: patch JupyterLab's classes and expect the `initialize()` of every
 * notebook that opens (`tracker`: the notebook tracker, optional). Returns the patch's result.
 */
export function activateSessionStart(classes, tracker, warn = console.warn) {
  const findContext = (notebook) =>
    (tracker?.find((panel) => panel.content === notebook) ?? notebook?.parent)?.context;
  const result = patchSessionStart({ ...classes, findContext });
  if (!result.patched) {
    warn(`netviz-widget: Run All while a notebook opens is left as JupyterLab has it (${result.reason})`);
    return result;
  }
  // a notebook's document calls initialize() once its file has loaded (and a checkpoint is made):
  // a Run All before that waits for it instead of starting a second session
  tracker?.widgetAdded.connect((_, panel) => {
    const context = panel.context;
    if (context && !context.isReady) result.expectInitialize(panel.sessionContext, context.ready);
  });
  return result;
}

/**
 * Patch `SessionContext.prototype`, `CodeCell.execute` and `NotebookActions.runAll` in place.
 * @param {object} classes JupyterLab's `SessionContext` (@jupyterlab/apputils), `CodeCell`
 *   (@jupyterlab/cells) and `NotebookActions` (@jupyterlab/notebook), and `findContext(notebook)`,
 *   which returns a notebook widget's document context (`isReady`, `ready`, `sessionContext`);
 *   `graceMs`, how long after its file has loaded a document may take to call initialize().
 * @returns {{patched: boolean, reason: string, expectInitialize: Function}}
 *   `expectInitialize(sessionContext, loaded)` marks a session context whose document will call
 *   `initialize()` once `loaded` (its `context.ready`) has resolved: a `startKernel()` before that
 *   call waits for it.
 */
export function patchSessionStart({
  SessionContext,
  CodeCell,
  NotebookActions,
  findContext,
  graceMs = INITIALIZE_GRACE_MS,
}) {
  const missing = missingMethods({ SessionContext, CodeCell, NotebookActions });
  if (missing.length) {
    const reason = `unexpected JupyterLab classes: no ${missing.join(", ")}`;
    return { patched: false, reason, expectInitialize() {} };
  }
  const proto = SessionContext.prototype;
  if (proto[PATCHED]) return { ...proto[PATCHED], patched: false, reason: "already patched" };

  const startUps = new WeakMap(); // session context -> its first initialize() promise, until it settles
  const expected = new WeakMap(); // session context -> {promise, resolve}: initialize() not called yet
  const retries = new WeakMap(); // session context -> the one start shared by cells that waited
  const deferredRuns = new WeakMap(); // notebook -> its Run All waiting for the file to load
  const initializeCalled = new WeakSet();
  const insideInitialize = new WeakSet(); // during _startIfNecessary's synchronous call of startKernel
  const original = {
    initialize: proto.initialize,
    startKernel: proto.startKernel,
    startIfNecessary: proto._startIfNecessary,
    execute: CodeCell.execute,
    runAll: NotebookActions.runAll,
  };

  function expectInitialize(sessionContext, loaded) {
    if (!sessionContext || sessionContext.isDisposed) return;
    if (initializeCalled.has(sessionContext) || expected.has(sessionContext)) return;
    let resolve;
    const promise = new Promise((r) => {
      resolve = r;
    });
    expected.set(sessionContext, { promise, resolve });
    // a document closed before it loads never calls initialize(); nor might a document that is
    // not a plain notebook file: give up a while after its file has loaded
    let timer;
    whenDisposed(sessionContext).then(resolve);
    Promise.resolve(loaded).then(
      () => {
        timer = setTimeout(resolve, graceMs);
      },
      () => resolve(undefined),
    );
    promise.then(() => {
      clearTimeout(timer);
      expected.delete(sessionContext);
    });
  }

  /** The start-up under way for this session context, or null when none is. */
  function startUpFor(sessionContext) {
    const running = startUps.get(sessionContext);
    if (running) return running;
    const pending = expected.get(sessionContext);
    return pending ? pending.promise.then(() => startUps.get(sessionContext)) : null;
  }

  proto.initialize = function initialize(...args) {
    const result = original.initialize.apply(this, args);
    if (!initializeCalled.has(this)) {
      initializeCalled.add(this);
      keepUntilSettled(startUps, this, result);
      expected.get(this)?.resolve(undefined);
    }
    return result;
  };

  // _startIfNecessary calls startKernel synchronously: mark that one call only
  proto._startIfNecessary = function _startIfNecessary(...args) {
    insideInitialize.add(this);
    try {
      return original.startIfNecessary.apply(this, args);
    } finally {
      insideInitialize.delete(this);
    }
  };

  proto.startKernel = async function startKernel(...args) {
    const startUp = insideInitialize.has(this) ? null : startUpFor(this);
    if (!startUp) return original.startKernel.apply(this, args);
    await settled(startUp);
    if (this.isDisposed || this.session?.kernel) return false; // nothing to start, nothing to pick
    // the start-up brought no kernel: the cells that waited share one start, as one cell's would
    return retries.get(this) ?? keepUntilSettled(retries, this, original.startKernel.apply(this, args));
  };

  CodeCell.execute = async function execute(cell, sessionContext, ...rest) {
    if (sessionContext && !sessionContext.session?.kernel) {
      const startUp = startUpFor(sessionContext) ?? retries.get(sessionContext);
      if (startUp) await settled(startUp);
    }
    return original.execute.call(this, cell, sessionContext, ...rest);
  };

  NotebookActions.runAll = function runAll(notebook, sessionContext, ...rest) {
    const context = findContext?.(notebook);
    if (context?.isReady !== false) return original.runAll.call(this, notebook, sessionContext, ...rest);
    const waiting = deferredRuns.get(notebook);
    if (waiting) return waiting; // a second Run All while the file loads: the first one runs it all
    if (sessionContext && sessionContext === context.sessionContext) {
      expectInitialize(sessionContext, context.ready);
    }
    const run = Promise.race([
      Promise.resolve(context.ready).then(() => true),
      whenDisposed(context).then(() => false),
    ]).then(
      (loaded) => (loaded ? original.runAll.call(this, notebook, sessionContext, ...rest) : false),
      () => false,
    );
    return keepUntilSettled(deferredRuns, notebook, run);
  };

  const handle = { patched: true, reason: "patched", expectInitialize };
  proto[PATCHED] = handle;
  return handle;
}
