// Stand-ins for the JupyterLab 4.6.6 code paths of a notebook's opening, for session_start.test.js.
// Transcribed (simplified) from:
// - @jupyterlab/apputils SessionContext: initialize, _initialize (list sessions, connect to one with
//   this path), _startIfNecessary, startKernel ({id} or {name}; a failed start returns true),
//   _changeKernel (sets the pending kernel name only for {name}; a later start preempts an earlier
//   one), _handleNewSession, hasNoKernel, dispose;
// - @jupyterlab/services KernelManager.connectTo: a second connection to a kernel gets
//   handleComms = false while a first one lives;
// - @jupyterlab/docregistry Context: the panel holds one empty cell until the file has loaded; then
//   `ready` resolves (it never rejects), a checkpoint round trip, then sessionContext.initialize();
// - @jupyterlab/notebook runAll / runCells / runCell: every cell at once; startKernel when
//   hasNoKernel (and a kernel dialog when it returns true); CodeCell.execute leaves a cell unrun
//   when the session has no kernel yet.
// Every server answer takes `delay` ms (the session list `listDelay`); each call of makeJupyterLab
// builds fresh classes, since the patch edits them.

export const tick = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Signal {
  constructor(owner) {
    this.owner = owner;
    this.slots = [];
  }
  connect(slot) {
    this.slots.push(slot);
  }
  emit(args) {
    for (const slot of this.slots) slot(this.owner, args);
  }
}

export function makeJupyterLab({ delay = 5, listDelay = 8 * delay, preference = { name: "python3" } } = {}) {
  const server = { sessions: [], sessionsStarted: 0, failStarts: 0, dialogs: 0 };
  const connections = [];

  function connectToKernel(kernelId) {
    const handleComms = !connections.some((c) => c.id === kernelId && c.handleComms && !c.isDisposed);
    const connection = { id: kernelId, handleComms, isDisposed: false, executed: [] };
    connection.dispose = () => {
      connection.isDisposed = true;
    };
    connections.push(connection);
    return connection;
  }

  function connectToSession(model) {
    const session = { id: model.id, kernel: connectToKernel(model.kernelId) };
    session.dispose = () => session.kernel.dispose();
    session.setPath = async (path) => {
      await tick(delay);
      model.path = path;
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
      if (server.failStarts > 0) {
        server.failStarts -= 1;
        throw new Error("kernel failed to start");
      }
      server.sessionsStarted += 1;
      const n = server.sessionsStarted;
      const model = { id: `s${n}`, path, kernelId: `k${n}` };
      server.sessions.push(model);
      return connectToSession(model);
    },
  };

  class SessionContext {
    constructor(path) {
      this.path = path;
      this.session = null;
      this.isDisposed = false;
      this.disposed = new Signal(this);
      this.kernelPreference = { ...preference };
      this._pendingKernelName = "";
      this._pendingSessionRequest = "";
      this._initializing = false;
    }
    get hasNoKernel() {
      return !this._pendingKernelName && !this.session?.kernel;
    }
    dispose() {
      this.isDisposed = true;
      this.disposed.emit();
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
      const { id, name } = this.kernelPreference;
      const options = id ? { id } : name ? { name } : null;
      if (!options) return true; // ask the user to pick a kernel
      try {
        await this._changeKernel(options);
        return false;
      } catch {
        return true;
      }
    }
    async _changeKernel(model) {
      if (model.name) this._pendingKernelName = model.name;
      const request = `${Math.random()}`;
      this._pendingSessionRequest = request;
      let session;
      try {
        session = await sessionManager.startNew({ path: request });
      } catch (error) {
        this._pendingKernelName = "";
        throw error;
      }
      if (this._pendingSessionRequest !== request) {
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
    if (sessionContext.hasNoKernel) {
      if (await sessionContext.startKernel()) server.dialogs += 1; // "Select Kernel"
    }
    if (sessionContext.hasNoKernel) return;
    await CodeCell.execute(cell, sessionContext);
  }

  const NotebookActions = {
    runAll(notebook, sessionContext) {
      return Promise.all(notebook.widgets.map((cell) => runCell(cell, sessionContext)));
    },
  };

  return { server, connections, SessionContext, CodeCell, NotebookActions };
}

export const notebookCells = () => ["a", "b", "c", "d"].map((name) => ({ name, ran: false }));

/**
 * A notebook opening: one empty cell until its file loads (`loadAfter` ms), then `cells`; `ready`
 * resolves, a checkpoint takes `checkpointMs`, then the document calls initialize().
 * `tracker` (optional) hears of the panel at once, as the notebook tracker does.
 */
export function openNotebook(
  lab,
  { cells = notebookCells(), loadAfter = 20, checkpointMs = 15, tracker } = {},
) {
  const sessionContext = new lab.SessionContext("nb.ipynb");
  const notebook = { widgets: [{ name: "empty", ran: false }] };
  let markReady;
  const context = {
    isReady: false,
    isDisposed: false,
    sessionContext,
    ready: new Promise((resolve) => {
      markReady = resolve;
    }),
  };
  context.disposed = new Signal(context);
  context.dispose = () => {
    context.isDisposed = true;
    context.disposed.emit();
    sessionContext.dispose();
  };
  const panel = { content: notebook, context, sessionContext };
  notebook.parent = panel;
  tracker?.add(panel);
  const opened = tick(loadAfter).then(async () => {
    if (context.isDisposed) return undefined;
    notebook.widgets = cells;
    context.isReady = true;
    markReady();
    await tick(checkpointMs);
    return context.isDisposed ? undefined : sessionContext.initialize();
  });
  return { notebook, context, sessionContext, cells, opened };
}

/** The notebook tracker's part: `find` and `widgetAdded`. */
export function makeTracker() {
  const panels = [];
  const tracker = {
    widgetAdded: new Signal(null),
    find: (test) => panels.find(test),
    add(panel) {
      panels.push(panel);
      tracker.widgetAdded.emit(panel);
    },
  };
  return tracker;
}
