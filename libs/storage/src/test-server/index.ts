export { FaultyLink } from "./faulty-link.js";
export { S3RVER_CREDENTIALS, S3TestServer, type S3TestServerOptions } from "./s3-test-server.js";
