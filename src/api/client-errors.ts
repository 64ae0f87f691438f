import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { errorBody } from './errors.js';

/**
 * Answers requests that Node's HTTP parser refuses before any route runs (headers over its
 * 16 KiB limit, such as a 1 MB bearer token; a request line that is not HTTP; a request that
 * never finishes arriving) in the API's own error shape, then closes the connection, as Node and
 * Fastify do by default.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          'headers_too_large',
          'The request headers are larger than this server accepts (16 KiB in all); a bearer token must be under 8 KiB.',
        ]
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'The request did not arrive in time; send it again.']
        : [400, 'bad_request', 'The request is not valid HTTP/1.1.'];
  const body = JSON.stringify(errorBody(code, message));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
