/**
 * @since 0.1.0
 */
export * as ScheduleKit from "./ScheduleKit.js"
export * as SchedulePlot from "./SchedulePlot.js"
