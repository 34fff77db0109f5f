// Refusals a client may retry: a status carrying kRetryAfterPayload says after how many seconds
// (the text of a whole number). Set where the refusal is decided (service/run_queue.cc: a full
// run queue, a member at its limit), sent by the HTTP server as Retry-After.
#pragma once

namespace parley {

inline constexpr char kRetryAfterPayload[] = "parley.dev/retry-after-seconds";

}  // namespace parley
