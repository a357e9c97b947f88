import { describe, expect, it } from "vitest";
import { makeJupyterLab, makeTracker, notebookCells, openNotebook, tick } from "./jupyterlab_stand_ins.js";
import { activateSessionStart, patchSessionStart } from "./session_start.js";

const classes = (lab) => ({
  SessionContext: lab.SessionContext,
  CodeCell: lab.CodeCell,
  NotebookActions: lab.NotebookActions,
});

/** The plugin's activation on the stand-ins; returns the tracker that notebooks open in. */
function activate(lab) {
  const tracker = makeTracker();
  expect(activateSessionStart(classes(lab), tracker).patched).toBe(true);
  return tracker;
}

/** Open a notebook, choose Run All after `runAfter` ms, wait for both. */
async function openAndRunAll(lab, { runAfter, tracker, ...options }) {
  const doc = openNotebook(lab, { tracker, ...options });
  await tick(runAfter);
  await lab.NotebookActions.runAll(doc.notebook, doc.sessionContext);
  await doc.opened;
  return { ...doc, kernel: doc.sessionContext.session?.kernel };
}

// With the defaults (server answers in 5 ms, session list in 40 ms): the file loads at 20 ms,
// ready + checkpoint until 35 ms, sessions listed until 75 ms, the kernel starts until 85 ms,
// its session is renamed until 90 ms.
const MOMENTS = {
  "while the file loads": 5,
  "between ready and initialize()": 28,
  "while the sessions are listed": 50,
  "while the kernel starts": 80,
};

describe("Run All while a notebook opens (JupyterLab stand-ins)", () => {
  for (const [moment, runAfter] of Object.entries(MOMENTS)) {
    it(`without the patch, ${moment}: cells left unrun or a page deaf to comms`, async () => {
      const lab = makeJupyterLab();
      const { cells, kernel } = await openAndRunAll(lab, { runAfter });
      expect(cells.every((c) => c.ran) && kernel.handleComms).toBe(false);
    });

    it(`with the plugin, ${moment}: every cell runs once, in order, on one connection`, async () => {
      const lab = makeJupyterLab();
      const { cells, kernel } = await openAndRunAll(lab, { runAfter, tracker: activate(lab) });
      expect(cells.every((c) => c.ran)).toBe(true);
      expect(kernel.executed).toEqual(["a", "b", "c", "d"]);
      expect(kernel.handleComms).toBe(true);
      expect(lab.connections).toHaveLength(1);
      expect(lab.server.sessionsStarted).toBe(1);
    });
  }

  it("the patch alone (no tracker): a Run All before the file loads expects initialize()", async () => {
    const lab = makeJupyterLab();
    expect(patchSessionStart({ ...classes(lab), findContext: (nb) => nb.parent.context }).patched).toBe(true);
    const { kernel, cells } = await openAndRunAll(lab, { runAfter: 5 });
    expect(cells.every((c) => c.ran)).toBe(true);
    expect(kernel.handleComms).toBe(true);
    expect(lab.connections).toHaveLength(1);
  });

  it("a second Run All while the file loads joins the first: each cell runs once", async () => {
    const lab = makeJupyterLab();
    const doc = openNotebook(lab, { tracker: activate(lab) });
    await tick(5);
    const first = lab.NotebookActions.runAll(doc.notebook, doc.sessionContext);
    const second = lab.NotebookActions.runAll(doc.notebook, doc.sessionContext);
    expect(second).toBe(first);
    await Promise.all([first, doc.opened]);
    expect(doc.sessionContext.session.kernel.executed).toEqual(["a", "b", "c", "d"]);
  });

  it("a Run All after start-up goes straight through", async () => {
    const lab = makeJupyterLab();
    const { sessionContext, notebook, kernel } = await openAndRunAll(lab, {
      runAfter: 120,
      tracker: activate(lab),
    });
    notebook.widgets = notebookCells();
    await lab.NotebookActions.runAll(notebook, sessionContext);
    expect(kernel.executed).toEqual(["a", "b", "c", "d", "a", "b", "c", "d"]);
    expect(lab.connections).toHaveLength(1);
  });

  it("a kernel preference by id (no pending kernel name): one start, every cell runs", async () => {
    const lab = makeJupyterLab({ preference: { id: "k-chosen" } });
    const { cells, kernel } = await openAndRunAll(lab, { runAfter: 80, tracker: activate(lab) });
    expect(cells.every((c) => c.ran)).toBe(true);
    expect(kernel.handleComms).toBe(true);
    expect(lab.server.sessionsStarted).toBe(1);
  });

  it("a failed start-up: the cells that waited share one start, as one cell's would", async () => {
    const lab = makeJupyterLab();
    lab.server.failStarts = 1;
    const { cells, kernel } = await openAndRunAll(lab, { runAfter: 50, tracker: activate(lab) });
    expect(lab.server.sessionsStarted).toBe(1);
    expect(cells.every((c) => c.ran)).toBe(true);
    expect(kernel.executed).toEqual(["a", "b", "c", "d"]);
  });

  it("with no kernel preference, startKernel still asks the user to pick one", async () => {
    const lab = makeJupyterLab({ preference: {} });
    const { sessionContext, opened } = openNotebook(lab, { tracker: activate(lab) });
    expect(await sessionContext.startKernel()).toBe(true);
    expect(await opened).toBe(true);
    expect(sessionContext.session).toBe(null);
  });

  it("a notebook closed before its file loads: Run All and startKernel give up", async () => {
    const lab = makeJupyterLab();
    const doc = openNotebook(lab, { loadAfter: 1000, tracker: activate(lab) });
    const run = lab.NotebookActions.runAll(doc.notebook, doc.sessionContext);
    const start = doc.sessionContext.startKernel();
    await tick(5);
    doc.context.dispose();
    expect(await run).toBe(false);
    expect(await start).toBe(false);
  });

  it("an expected initialize() that never comes is given up a while after the file loaded", async () => {
    const lab = makeJupyterLab();
    const result = patchSessionStart({ ...classes(lab), findContext: () => undefined, graceMs: 30 });
    const sessionContext = new lab.SessionContext("nb.ipynb");
    result.expectInitialize(sessionContext, tick(10));
    const started = sessionContext.startKernel();
    const outcome = await Promise.race([started, tick(500).then(() => "still waiting")]);
    expect(outcome).toBe(false);
    expect(sessionContext.session.kernel.handleComms).toBe(true);
  });

  it("patches once, and leaves classes of an unexpected shape alone (saying why)", () => {
    const lab = makeJupyterLab();
    const first = patchSessionStart(classes(lab));
    const startKernel = lab.SessionContext.prototype.startKernel;
    const second = patchSessionStart(classes(lab));
    expect([first.patched, second.patched, second.reason]).toEqual([true, false, "already patched"]);
    expect(lab.SessionContext.prototype.startKernel).toBe(startKernel);

    class Other {
      initialize() {}
      startKernel() {}
    }
    const initialize = Other.prototype.initialize;
    const warnings = [];
    const other = { SessionContext: Other, CodeCell: { execute() {} }, NotebookActions: { runAll() {} } };
    const result = activateSessionStart(other, makeTracker(), (message) => warnings.push(message));
    expect(result.patched).toBe(false);
    expect(Other.prototype.initialize).toBe(initialize);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("no SessionContext._startIfNecessary");
  });
});
