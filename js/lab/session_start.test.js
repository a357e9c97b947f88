import { describe, expect, it } from "vitest";
import { patchSessionStart } from "./session_start.js";

// Stand-ins for the JupyterLab 4.6 code paths of the race, transcribed from @jupyterlab/apputils
// SessionContext (initialize, _initialize, _startIfNecessary, startKernel, _changeKernel,
// _handleNewSession, hasNoKernel), @jupyterlab/services KernelManager.connectTo (a second
// connection to a kernel gets handleComms = false while a first one lives) and
// @jupyterlab/notebook's runCell / runCells (every code cell at once; startKernel when
// hasNoKernel; CodeCell.execute leaves the cell unrun when the session has no kernel yet).
// The server answers after `delay` ms; each test builds fresh classes (the patch edits them).

const tick = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function makeJupyterLab({ delay = 5, listDelay = 8 * delay, kernelName = "python3" } = {}) {
  const server = { sessions: [], kernels: 0, sessionsStarted: 0 };
  const connections = [];

  function connectToKernel(kernelId) {
    const handleComms = !connections.some((c) => c.id === kernelId && c.handleComms && !c.isDisposed);
    const connection = {
      id: kernelId,
      handleComms,
      isDisposed: false,
      executed: [],
    };
    connection.dispose = () => {
      connection.isDisposed = true;
    };
    connections.push(connection);
    return connection;
  }

  function connectToSession(model) {
    const session = {
      id: model.id,
      path: model.path,
      kernel: connectToKernel(model.kernelId),
    };
    session.dispose = () => session.kernel.dispose();
    session.setPath = async (path) => {
      await tick(delay);
      model.path = path;
      session.path = path;
    };
    return session;
  }

  const sessionManager = {
    async refreshRunning() {
      await tick(listDelay); // a loaded server answers the session list late
      return server.sessions.map((s) => ({ ...s }));
    },
    async startNew({ path }) {
      await tick(delay * 2); // the kernel's start
      server.kernels += 1;
      server.sessionsStarted += 1;
      const model = {
        id: `s${server.sessionsStarted}`,
        path,
        kernelId: `k${server.kernels}`,
      };
      server.sessions.push(model);
      return connectToSession(model);
    },
  };

  class SessionContext {
    constructor(path) {
      this.path = path;
      this.session = null;
      this.isDisposed = false;
      this.kernelPreference = { name: kernelName };
      this._pendingKernelName = "";
      this._pendingSessionRequest = "";
      this._initializing = false;
    }
    get hasNoKernel() {
      return !this._pendingKernelName && !this.session?.kernel;
    }
    async initialize() {
      if (this._initializing) return this._initPromise;
      this._initializing = true;
      this._initPromise = this._initialize();
      return this._initPromise;
    }
    async _initialize() {
      const running = await sessionManager.refreshRunning();
      const model = running.find((s) => s.path === this.path);
      if (model) this._handleNewSession(connectToSession(server.sessions.find((s) => s.id === model.id)));
      return await this._startIfNecessary();
    }
    async _startIfNecessary() {
      if (this.isDisposed || this.session?.kernel) return false;
      return this.startKernel();
    }
    async startKernel() {
      if (!this.kernelPreference.name) return true; // ask the user to pick a kernel
      await this._changeKernel({ name: this.kernelPreference.name });
      return false;
    }
    async _changeKernel(model) {
      this._pendingKernelName = model.name;
      const request = `${Math.random()}`;
      this._pendingSessionRequest = request;
      const session = await sessionManager.startNew({ path: request });
      if (this._pendingSessionRequest !== session.path) {
        session.dispose(); // preempted by a later start
        return null;
      }
      await session.setPath(this.path);
      this._handleNewSession(session);
      return session.kernel;
    }
    _handleNewSession(session) {
      this.session?.dispose();
      this.session = session;
      this._pendingKernelName = "";
    }
  }

  const CodeCell = {
    async execute(cell, sessionContext) {
      const kernel = sessionContext.session?.kernel;
      if (!kernel) return undefined; // JupyterLab clears the cell's execution: left unrun
      kernel.executed.push(cell.name);
      cell.ran = true;
      return { status: "ok" };
    },
  };

  async function runCell(cell, sessionContext) {
    if (sessionContext.hasNoKernel) await sessionContext.startKernel();
    if (sessionContext.hasNoKernel) return;
    await CodeCell.execute(cell, sessionContext);
  }

  function runAll(cells, sessionContext) {
    return Promise.all(cells.map((cell) => runCell(cell, sessionContext)));
  }

  // NotebookActions.runAll runs the notebook's cells as they are when it is called
  const NotebookActions = {
    runAll(notebook, sessionContext) {
      return runAll(notebook.widgets, sessionContext);
    },
  };

  return { server, connections, SessionContext, CodeCell, NotebookActions, runAll };
}

/** A notebook document: one empty cell until its file loads (`loadAfter` ms), then `cells`. */
function openDocument(lab, { cells, loadAfter }) {
  const sessionContext = new lab.SessionContext("nb.ipynb");
  const notebook = { widgets: [{ name: "empty", ran: false }] };
  let markReady;
  const context = { isReady: false, sessionContext, ready: new Promise((r) => (markReady = r)) };
  notebook.context = context;
  const loaded = tick(loadAfter).then(() => {
    notebook.widgets = cells;
    context.isReady = true;
    markReady();
    return sessionContext.initialize(); // what the document does once the file has loaded
  });
  return { notebook, context, sessionContext, loaded };
}

/** Patch the stand-ins as the plugin patches JupyterLab. */
function patchLab(lab) {
  return patchSessionStart({
    SessionContext: lab.SessionContext,
    CodeCell: lab.CodeCell,
    NotebookActions: lab.NotebookActions,
    findContext: (notebook) => notebook.context,
  });
}

const notebookCells = () => ["a", "b", "c", "d"].map((name) => ({ name, ran: false }));

/** Open a notebook (its document calls initialize()) and choose Run All after `runAfter` ms. */
async function openAndRunAll(lab, { runAfter, patch, expectInitialize = true, initializeAfter = 0 }) {
  const handle = patch ? patchLab(lab) : null;
  const context = new lab.SessionContext("nb.ipynb");
  if (handle && expectInitialize) handle.expectInitialize(context);
  const cells = notebookCells();
  const init = tick(initializeAfter).then(() => context.initialize());
  await tick(runAfter);
  await Promise.all([lab.runAll(cells, context), init]);
  return { context, cells, kernel: context.session.kernel };
}

describe("Run All while a notebook's kernel starts (JupyterLab stand-ins)", () => {
  it("without the patch: a second connection to the same kernel ignores comms (the race)", async () => {
    const lab = makeJupyterLab();
    const { kernel } = await openAndRunAll(lab, { runAfter: 0, patch: false });
    expect(kernel.handleComms).toBe(false);
    const live = lab.connections.filter((c) => !c.isDisposed);
    expect(live).toEqual([kernel]);
  });

  it("with the patch: one connection, which handles comms, and every cell runs in order", async () => {
    const lab = makeJupyterLab();
    const { kernel, cells } = await openAndRunAll(lab, {
      runAfter: 0,
      patch: true,
    });
    expect(kernel.handleComms).toBe(true);
    expect(lab.connections).toHaveLength(1);
    expect(lab.server.sessionsStarted).toBe(1);
    expect(cells.every((c) => c.ran)).toBe(true);
    expect(kernel.executed).toEqual(["a", "b", "c", "d"]);
  });

  it("without the patch: Run All while the kernel starts leaves every cell but one unrun", async () => {
    const lab = makeJupyterLab({ delay: 10, listDelay: 10 });
    // init has listed the running sessions (10 ms) and is starting the kernel (20 ms)
    const { cells } = await openAndRunAll(lab, { runAfter: 15, patch: false });
    expect(cells.filter((c) => c.ran).length).toBeLessThan(cells.length);
  });

  it("with the patch: Run All while the kernel starts waits for it and runs every cell", async () => {
    const lab = makeJupyterLab({ delay: 10, listDelay: 10 });
    const { kernel, cells } = await openAndRunAll(lab, {
      runAfter: 15,
      patch: true,
    });
    expect(cells.every((c) => c.ran)).toBe(true);
    expect(kernel.executed).toEqual(["a", "b", "c", "d"]);
    expect(kernel.handleComms).toBe(true);
    expect(lab.server.sessionsStarted).toBe(1);
  });

  it("with the patch: Run All before the document calls initialize() waits for it", async () => {
    const lab = makeJupyterLab();
    const { kernel, cells } = await openAndRunAll(lab, {
      runAfter: 0,
      initializeAfter: 20,
      patch: true,
    });
    expect(kernel.handleComms).toBe(true);
    expect(lab.connections).toHaveLength(1);
    expect(cells.every((c) => c.ran)).toBe(true);
  });

  it("a Run All after start-up goes straight through", async () => {
    const lab = makeJupyterLab();
    const { context, kernel } = await openAndRunAll(lab, {
      runAfter: 100,
      patch: true,
    });
    const cells = notebookCells();
    await lab.runAll(cells, context);
    expect(kernel.executed).toEqual(["a", "b", "c", "d", "a", "b", "c", "d"]);
    expect(lab.connections).toHaveLength(1);
  });

  it("with no kernel preference, startKernel still asks the user to pick one", async () => {
    const lab = makeJupyterLab({ kernelName: "" });
    patchLab(lab);
    const context = new lab.SessionContext("nb.ipynb");
    const init = context.initialize();
    expect(await context.startKernel()).toBe(true);
    expect(await init).toBe(true);
    expect(context.session).toBe(null);
  });

  it("a failed start-up does not hang the cells that waited for it", async () => {
    const lab = makeJupyterLab();
    patchLab(lab);
    lab.SessionContext.prototype._initialize = async () => {
      await tick(5);
      throw new Error("server gone");
    };
    const context = new lab.SessionContext("nb.ipynb");
    const init = context.initialize().catch((e) => e.message);
    const cells = notebookCells();
    await lab.runAll(cells, context);
    expect(await init).toBe("server gone");
    // each waiting cell then starts a kernel as JupyterLab would (the last start wins); a second
    // Run All runs them all
    await lab.runAll(cells, context);
    expect(cells.every((c) => c.ran)).toBe(true);
  });

  it("without the patch: Run All before the file loads runs the empty cell and races the kernel", async () => {
    const lab = makeJupyterLab();
    const doc = openDocument(lab, { cells: notebookCells(), loadAfter: 20 });
    await lab.NotebookActions.runAll(doc.notebook, doc.sessionContext);
    await doc.loaded;
    expect(doc.notebook.widgets.some((c) => c.ran)).toBe(false);
    expect(doc.sessionContext.session.kernel.handleComms).toBe(false);
  });

  it("with the patch: Run All before the file loads waits for it, then runs every cell once", async () => {
    const lab = makeJupyterLab();
    patchLab(lab);
    const doc = openDocument(lab, { cells: notebookCells(), loadAfter: 20 });
    await lab.NotebookActions.runAll(doc.notebook, doc.sessionContext);
    await doc.loaded;
    const kernel = doc.sessionContext.session.kernel;
    expect(kernel.executed).toEqual(["a", "b", "c", "d"]);
    expect(kernel.handleComms).toBe(true);
    expect(lab.connections).toHaveLength(1);
  });

  it("a Run All on a notebook whose file never loads gives up with it", async () => {
    const lab = makeJupyterLab();
    patchLab(lab);
    const sessionContext = new lab.SessionContext("nb.ipynb");
    const notebook = { widgets: [] };
    notebook.context = { isReady: false, ready: Promise.reject(new Error("file gone")) };
    expect(await lab.NotebookActions.runAll(notebook, sessionContext)).toBe(false);
  });

  it("patches once, and leaves classes of an unexpected shape alone", () => {
    const lab = makeJupyterLab();
    const first = patchLab(lab);
    const startKernel = lab.SessionContext.prototype.startKernel;
    const second = patchLab(lab);
    expect([first.patched, second.patched, second.reason]).toEqual([true, false, "already patched"]);
    expect(lab.SessionContext.prototype.startKernel).toBe(startKernel);

    class Other {
      initialize() {}
      startKernel() {}
    }
    const initialize = Other.prototype.initialize;
    const result = patchSessionStart({
      SessionContext: Other,
      CodeCell: { execute() {} },
      NotebookActions: { runAll() {} },
    });
    expect(result.patched).toBe(false);
    expect(result.reason).toContain("SessionContext._startIfNecessary");
    expect(Other.prototype.initialize).toBe(initialize);
  });
});
