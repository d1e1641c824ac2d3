/**
 * http-api: a small JSON API behind the master's HTTP port
 * (POST /functions/NAME/invoke; the body is the event, the result the answer).
 *
 *   laminate function deploy index.ts --master HOST:PORT --name greeter --trigger http --memory 128 --timeout 3s
 *   curl -s -X POST http://HOST:7080/functions/greeter/invoke -d '{"action":"greet","name":"Ada"}'
 *
 * Also callable with `laminate function invoke greeter --payload '{"action":"greet","name":"Ada"}'`.
 */
import { defineFunction } from 'laminate';

interface Request {
  readonly action?: string;
  readonly name?: string;
  readonly numbers?: readonly number[];
}

export default defineFunction((event: Request, ctx) => {
  switch (event.action) {
    case 'greet':
      return { message: `Hello, ${event.name ?? 'world'}!`, requestId: ctx.requestId };
    case 'sum':
      return { sum: (event.numbers ?? []).reduce((a, b) => a + b, 0) };
    default:
      // A thrown error is the caller's: HANDLER_ERROR with this message.
      throw new Error(`Unknown action ${JSON.stringify(event.action)}: expected greet or sum`);
  }
});
