/**
 * A multipart body the parser cannot read is the client's mistake, not ours: these are the
 * parser's (busboy's) and @fastify/multipart's complaints, as the 4xx answers they should be.
 */
import { ApiError } from './errors.js';

const MALFORMED = [
  'Multipart: Boundary not found',
  'Boundary required',
  'Unexpected end of multipart data',
  'terminated early due to unexpected end of multipart data',
  'The needle cannot have a length bigger than 256.',
];

const SEND_ONE_FILE =
  'Send one CSV in a multipart/form-data field named "file", as curl -F file=@customers.csv or a browser form does.';

export function multipartClientError(error: unknown): ApiError | undefined {
  const { code, message } = error as { code?: unknown; message?: unknown };
  switch (code) {
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new ApiError(
        400,
        'too_many_parts',
        `The form has more fields than an upload needs. ${SEND_ONE_FILE}`,
      );
    case 'FST_PROTO_VIOLATION':
    case 'FST_INVALID_JSON_FIELD_ERROR':
    case 'FST_MP_PREMATURE_CLOSE':
      return new ApiError(
        400,
        'bad_multipart',
        `The multipart body cannot be read. ${SEND_ONE_FILE}`,
      );
  }
  if (
    error instanceof Error &&
    typeof message === 'string' &&
    code === undefined &&
    MALFORMED.some((known) => message.includes(known))
  ) {
    return new ApiError(
      400,
      'bad_multipart',
      `The multipart body cannot be read (${message.replace(/\.$/, '')}): it is cut short, or its boundary is missing or too long. ${SEND_ONE_FILE}`,
    );
  }
  return undefined;
}
