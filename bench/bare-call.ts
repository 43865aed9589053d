/**
 * The least a Node gRPC client does for one call, for `npm run bench:cli` to set
 * beside `berth services`: grpc-js, the controller's CA, one unary ListServices
 * with the token, the reply left as bytes. No berth code, no message types, no
 * command tree, no output. Reads BERTH_ADDR, BERTH_CA and BERTH_TOKEN; exits 0 on
 * an answer. Run it as the bench does: node dist/bench/bare-call.js.
 */
import { credentials, makeGenericClientConstructor, Metadata } from "@grpc/grpc-js";
import { readFileSync } from "node:fs";

const { BERTH_ADDR: addr, BERTH_CA: caFile, BERTH_TOKEN: token } = process.env;
if (!addr || !caFile || !token) throw new Error("BERTH_ADDR, BERTH_CA and BERTH_TOKEN are needed");
const bytes = (b: Buffer): Buffer => b;
const Client = makeGenericClientConstructor(
  {
    ListServices: {
      path: "/berth.v1.OperatorService/ListServices",
      requestStream: false,
      responseStream: false,
      requestSerialize: bytes,
      requestDeserialize: bytes,
      responseSerialize: bytes,
      responseDeserialize: bytes,
    },
  },
  "OperatorService",
);
const client = new Client(addr, credentials.createSsl(readFileSync(caFile)));
const md = new Metadata();
md.set("authorization", `Bearer ${token}`);
const call = client["ListServices"] as (req: Buffer, md: Metadata, cb: (err: Error | null) => void) => void;
call.call(client, Buffer.alloc(0), md, (err) => {
  if (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  process.exit(0);
});
