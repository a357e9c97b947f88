/**
 * netviz-widget's JupyterLab / Notebook 7 front-end extension: one plugin, which makes a Run All
 * chosen while a notebook is still opening wait for its file and its kernel (session_start.js).
 * Without it, that Run All can leave cells unrun and the page deaf to widget messages.
 * Built by @jupyter/builder into netviz_widget/labextension (`npm run build:lab`); the wheel
 * installs it into share/jupyter/labextensions/netviz-widget.
 */
import { SessionContext } from "@jupyterlab/apputils";
import { CodeCell } from "@jupyterlab/cells";
import { INotebookTracker, NotebookActions } from "@jupyterlab/notebook";
import { patchSessionStart } from "./session_start.js";

const plugin = {
  id: "netviz-widget:session-start",
  description: "Run All while a notebook opens waits for its file and its kernel (netviz_widget).",
  autoStart: true,
  optional: [INotebookTracker],
  activate(_app, tracker) {
    const findContext = (notebook) =>
      (tracker?.find((panel) => panel.content === notebook) ?? notebook?.parent)?.context;
    const result = patchSessionStart({ SessionContext, CodeCell, NotebookActions, findContext });
    if (!result.patched) {
      console.warn(
        `netviz-widget: Run All while a notebook opens is left as JupyterLab has it (${result.reason})`,
      );
      return;
    }
    // a notebook's document calls initialize() once its file has loaded: a Run All before that
    // waits for it instead of starting a second session
    tracker?.widgetAdded.connect((_, panel) => result.expectInitialize(panel.sessionContext));
  },
};

export default plugin;
