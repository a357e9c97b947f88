/**
 * netviz-widget's JupyterLab / Notebook 7 front-end extension: one plugin, which makes a Run All
 * chosen while a notebook's kernel is still starting wait for that kernel (see session_start.js).
 * Without it, that Run All leaves cells unrun and can leave the page deaf to widget messages.
 * Built by @jupyter/builder into netviz_widget/labextension (`npm run build:lab`); the wheel
 * installs it into share/jupyter/labextensions/netviz-widget.
 */
import { SessionContext } from "@jupyterlab/apputils";
import { CodeCell } from "@jupyterlab/cells";
import { INotebookTracker } from "@jupyterlab/notebook";
import { patchSessionStart } from "./session_start.js";

const plugin = {
  id: "netviz-widget:session-start",
  description: "Run All while a notebook's kernel starts waits for that kernel (netviz_widget).",
  autoStart: true,
  optional: [INotebookTracker],
  activate(_app, tracker) {
    const result = patchSessionStart(SessionContext, CodeCell);
    if (!result.patched) {
      console.warn(
        `netviz-widget: Run All during kernel start-up is left as JupyterLab has it (${result.reason})`,
      );
      return;
    }
    // a notebook's document calls initialize() once its file has loaded: a Run All before that
    // waits for it instead of starting a second session
    tracker?.widgetAdded.connect((_, panel) => result.expectInitialize(panel.sessionContext));
  },
};

export default plugin;
