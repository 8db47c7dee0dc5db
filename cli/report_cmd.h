/* `stampede report DIR`: re-renders DIR/report.html from DIR's summary.json and history
 * (master/report.h); a folder without summary.json but with a checkpoint (a run that
 * died: master/checkpoint.h) gets its results rebuilt from it (master/rebuild.h) and says
 * so ("rebuilt from checkpoint: N intervals, T s covered, ..."), then records the
 * rebuilt run in the history beside the folder (master/record.h: DIR's parent's
 * history.db; status "interrupted"), compared with its baseline like any run.
 *
 * Exit code (report_cmd_main's return): 0 written; 1 rebuilt from a checkpoint and a
 * threshold failed on what it covers (the run's own semantics); 2 usage, nothing to
 * rebuild (no summary.json and no checkpoint), a foreign or corrupt checkpoint (nothing
 * is written then), or a write that failed. Messages go to stderr, the paths written to
 * stdout. The caller's thread; no globals. */
#ifndef CLI_REPORT_CMD_H
#define CLI_REPORT_CMD_H

int report_cmd_main(int argc, char **argv);
#endif
