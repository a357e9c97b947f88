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
import { activateSessionStart } from "./session_start.js";

const plugin = {
  id: "netviz-widget:session-start",
  description: "Run All while a notebook opens waits for its file and its kernel (netviz_widget).",
  autoStart: true,
  optional: [INotebookTracker],
  activate(_app, tracker) {
    activateSessionStart({ SessionContext, CodeCell, NotebookActions }, tracker);
  },
};

export default plugin;
