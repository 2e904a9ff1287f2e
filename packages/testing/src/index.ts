/**
 * @since 0.1.0
 */

/**
 * @since 0.2.0
 */
export * as Chaos from "./Chaos.js"

/**
 * @since 0.1.0
 */
export * as FaultScript from "./FaultScript.js"
export * as FaultServer from "./FaultServer.js"
export * as ScheduleKit from "./ScheduleKit.js"
export * as SchedulePlot from "./SchedulePlot.js"
export * as ScriptedClient from "./ScriptedClient.js"
export * as Simulator from "./Simulator.js"
export * as TestTracer from "./TestTracer.js"
