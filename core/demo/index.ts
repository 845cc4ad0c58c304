/**
 * @module demo
 * Public surface of the end-to-end demo (`neam-ca demo`, docs/demo.md): {@link runDemo} and the
 * pieces a caller may want (the output layout, the summary renderer).
 */
export { runDemo, STAGES, type DemoOptions, type DemoReport, type StageTiming } from './run.ts';
export { demoLayout, checkOutputFolder, CUSTODIANS, type DemoLayout } from './layout.ts';
export { renderDemoSummary } from './report.ts';
export { ProcessSupervisor, waitForOutput, pollUntil, type ManagedProcess, type ToolResult, type ExitStatus } from './processes.ts';
