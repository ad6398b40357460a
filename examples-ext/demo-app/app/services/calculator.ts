// A Netron service: callable from any Netron peer over tcp/ws (netron.listen in titan.config.json)
// and over HTTP at POST /netron/invoke. Methods run synchronously in the same worker isolates as
// the actions; a generator method streams; the contract is checked on every call.
import { z } from "zod";

export default defineService({
  name: "calculator",
  version: "1.0.0",
  contract: {
    add: { input: z.tuple([z.number(), z.number()]), output: z.number() },
    count: { input: z.tuple([z.int().min(0).max(10_000)]), output: z.int() },
  },
  methods: {
    add(a: number, b: number) {
      return a + b;
    },
    *count(n: number) {
      for (let i = 0; i < n; i++) yield i;
    },
    /** Tells every subscriber of "calculator.visited" who came by. */
    greet(name: string) {
      t.netron.emit("calculator.visited", { name, at: new Date().toISOString() });
      return `hello ${name}`;
    },
  },
  // Read with Netron's GET (`await calc.maxCount` on a client proxy); read-only.
  properties: {
    maxCount: 10_000,
  },
});
