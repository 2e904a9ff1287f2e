/**
 * What the SmallRye Fault Tolerance ports (`peer-smallrye-*.test.ts`) share: the Java exception types its tests throw
 * and `initiallyFailing`, its `TestInvocation.initiallyFailing(n, failure, then)` (the first `n` executions fail, the
 * next ones run `then`), counted as `counted` counts.
 */
import * as Effect from "effect/Effect"
import { counted } from "./counted.js"

/** SmallRye's `TestException` (io.smallrye.faulttolerance.core.util.TestException). */
export class TestException extends Error {}

/** java.lang.RuntimeException, which SmallRye's tests throw where "any other exception" is meant. */
export class RuntimeException extends Error {}

export const initiallyFailing = <A, E1, E2>(
  failures: number,
  failure: () => E1,
  then: (execution: number) => Effect.Effect<A, E2>
) => counted((execution): Effect.Effect<A, E1 | E2> => execution <= failures ? Effect.fail(failure()) : then(execution))
