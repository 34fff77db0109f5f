#include "psi/protocol.h"

#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "psi/group.h"

namespace parley::psi {
namespace {

// Runs body(i) for i in [0, n) on `threads` threads (the caller's included), in chunks so that
// the work is shared evenly whatever each element costs. Returns the smallest i for which body
// returned false, or n when all succeeded.
size_t ParallelFor(size_t n, int threads, const std::function<bool(size_t)>& body) {
  std::atomic<size_t> next = 0;
  std::atomic<size_t> first_failure = n;
  constexpr size_t kChunk = 64;
  auto work = [&] {
    for (;;) {
      size_t begin = next.fetch_add(kChunk);
      if (begin >= n) return;
      size_t end = std::min(n, begin + kChunk);
      for (size_t i = begin; i < end; ++i) {
        if (!body(i)) {
          size_t seen = first_failure.load();
          while (i < seen && !first_failure.compare_exchange_weak(seen, i)) {
          }
        }
      }
    }
  };
  size_t helpers = std::min<size_t>(threads - 1, n / kChunk);
  std::vector<std::thread> pool;
  pool.reserve(helpers);
  for (size_t t = 0; t < helpers; ++t) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  return first_failure.load();
}

// A uniformly random index below `bound` from libsodium's CSPRNG.
uint64_t UniformBelow(uint64_t bound) {
  if (bound <= UINT32_MAX) return randombytes_uniform(static_cast<uint32_t>(bound));
  uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t value;
  do {
    randombytes_buf(&value, sizeof value);
  } while (value >= limit);
  return value % bound;
}

// A secret permutation (Fisher–Yates): the order in which elements leave this side.
template <class T>
void Shuffle(std::vector<T>& items) {
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[UniformBelow(i)]);
}

absl::string_view ElementsName(FrameType type) {
  return type == FrameType::kBlinded ? "blinded set" : "doubly blinded set";
}

absl::Status InvalidElement(uint64_t position, absl::string_view set) {
  return absl::InvalidArgumentError(
      absl::StrCat("the peer sent an invalid group element (element ", position + 1, " of its ",
                   set, "): not a canonical ristretto255 encoding, or the identity"));
}

class Session {
 public:
  Session(Channel& channel, Role role, const std::vector<std::string>& identifiers,
          const SessionOptions& options)
      : channel_(channel),
        role_(role),
        identifiers_(identifiers),
        options_(options),
        threads_(options.threads > 0 ? options.threads
                                     : std::max(1u, std::thread::hardware_concurrency())),
        key_(options.key_for_testing ? Scalar::FromBytesForTesting(*options.key_for_testing)
                                     : Scalar::Random()) {}

  absl::StatusOr<SessionResult> Run() {
    absl::StatusOr<SessionResult> result = Steps();
    if (!result.ok() && !peer_gone_) {
      // Tell the peer why, so it reports our reason rather than a dropped connection. Best
      // effort: the connection may already be unusable.
      std::string reason(result.status().message().substr(0, kMaxAbortReason));
      (void)WriteFrame(channel_, FrameType::kAbort, reason);
    }
    channel_.Close();
    return result;
  }

 private:
  absl::StatusOr<SessionResult> Steps() {
    PARLEY_RETURN_IF_ERROR(InitialiseSodium());
    {
      absl::flat_hash_set<absl::string_view> seen;
      for (const std::string& identifier : identifiers_) {
        if (!seen.insert(identifier).second) {
          return absl::InvalidArgumentError("the identifiers given to a PSI session repeat");
        }
      }
    }
    PARLEY_RETURN_IF_ERROR(ExchangeHello());
    PARLEY_RETURN_IF_ERROR(BlindOwnSet());
    // A side learns the result when it gets its own set back doubly blinded; in a session whose
    // result goes to one party only, the other's set is never returned to it.
    const bool both = options_.receivers == Receivers::kBoth;
    const bool learns =
        both || options_.receivers ==
                    (role_ == Role::kResponder ? Receivers::kResponder : Receivers::kInitiator);
    const bool peer_learns = both || !learns;
    if (role_ == Role::kInitiator) {
      PARLEY_RETURN_IF_ERROR(Send(FrameType::kBlinded, own_blinded_));
      PARLEY_RETURN_IF_ERROR(ReceivePeerSet());
      if (learns) PARLEY_RETURN_IF_ERROR(ReceiveOwnSetBack());
      if (peer_learns) PARLEY_RETURN_IF_ERROR(ReturnPeerSet());
    } else {
      PARLEY_RETURN_IF_ERROR(ReceivePeerSet());
      PARLEY_RETURN_IF_ERROR(Send(FrameType::kBlinded, own_blinded_));
      if (peer_learns) PARLEY_RETURN_IF_ERROR(ReturnPeerSet());
      if (learns) PARLEY_RETURN_IF_ERROR(ReceiveOwnSetBack());
    }
    SessionResult result = Compare();
    result.learned = learns;
    if (!learns) {
      result.intersection_size = 0;
      result.matched.clear();
    }
    // One-sided: DONE says only "finished" (0 both ways), so that the count reaches no one but
    // the receiver — neither the other party nor a relay.
    PARLEY_RETURN_IF_ERROR(
        Write(FrameType::kDone, EncodeCount(both ? result.intersection_size : 0)));
    PARLEY_ASSIGN_OR_RETURN(Frame done, Expect(FrameType::kDone, "DONE"));
    PARLEY_ASSIGN_OR_RETURN(uint64_t peer_count, DecodeCount(done.payload));
    if (!both) {
      if (peer_count != 0) {
        return absl::InvalidArgumentError(
            "the peer's DONE carries a count in a session whose result goes to one party only: "
            "the peer did not follow the protocol");
      }
      return result;
    }
    if (peer_count != result.intersection_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("the peer found ", peer_count, " common identifiers, this side found ",
                       result.intersection_size, ": the peer did not follow the protocol"));
    }
    return result;
  }

  absl::Status Write(FrameType type, absl::string_view payload) {
    if (options_.sent_for_testing) options_.sent_for_testing(type, payload);
    absl::Status written = WriteFrame(channel_, type, payload);
    if (!written.ok()) {
      peer_gone_ = true;
      return absl::UnavailableError(absl::StrCat("the connection to the peer failed while sending ",
                                                 FrameTypeName(static_cast<uint8_t>(type)), ": ",
                                                 written.message()));
    }
    return absl::OkStatus();
  }

  // The next frame, which must be of `type`; `what` names what this side waits for.
  absl::StatusOr<Frame> Expect(FrameType type, absl::string_view what) {
    absl::StatusOr<Frame> frame = ReadFrame(channel_);
    if (!frame.ok()) {
      if (frame.status().code() == absl::StatusCode::kOutOfRange) {
        peer_gone_ = true;
        return absl::UnavailableError(
            absl::StrCat("the peer closed the connection while this side waited for its ", what));
      }
      if (frame.status().code() == absl::StatusCode::kDataLoss) peer_gone_ = true;
      if (frame.status().code() == absl::StatusCode::kUnavailable ||
          frame.status().code() == absl::StatusCode::kDeadlineExceeded) {
        peer_gone_ = true;
        return absl::Status(
            frame.status().code(),
            absl::StrCat("while waiting for the peer's ", what, ": ", frame.status().message()));
      }
      return frame.status();
    }
    if (frame->type == static_cast<uint8_t>(FrameType::kAbort)) {
      peer_gone_ = true;
      std::string reason = frame->payload.substr(0, kMaxAbortReason);
      // Only printable ASCII reaches the terminal.
      for (char& c : reason) {
        if (c < 0x20 || c > 0x7e) c = '?';
      }
      return absl::AbortedError(absl::StrCat("the peer ended the session: ", reason));
    }
    if (frame->type != static_cast<uint8_t>(type)) {
      return absl::InvalidArgumentError(absl::StrCat("the peer sent a ", FrameTypeName(frame->type),
                                                     " frame where its ", what, " was due"));
    }
    return frame;
  }

  absl::Status ExchangeHello() {
    PARLEY_RETURN_IF_ERROR(
        Write(FrameType::kHello, EncodeHello(Hello{kProtocolVersion, options_.mode,
                                                   identifiers_.size(), options_.receivers})));
    PARLEY_ASSIGN_OR_RETURN(Frame frame, Expect(FrameType::kHello, "HELLO"));
    PARLEY_ASSIGN_OR_RETURN(Hello hello, DecodeHello(frame.payload));
    if (hello.receivers != options_.receivers) {
      return absl::FailedPreconditionError(
          absl::StrCat("the peer expects the result to go to ", ReceiversName(hello.receivers),
                       "; this side to ", ReceiversName(options_.receivers)));
    }
    if (hello.mode != options_.mode) {
      return absl::FailedPreconditionError(
          absl::StrCat("the peer asked for ", ModeName(hello.mode), "; this side asked for ",
                       ModeName(options_.mode), " (both must give --cardinality-only or neither)"));
    }
    peer_size_ = hello.set_size;
    return absl::OkStatus();
  }

  void Progress(absl::string_view phase, uint64_t done, uint64_t total) {
    if (options_.progress) options_.progress(phase, done, total);
  }

  // H(x) · key for every own identifier, in a secret random order (own_order_).
  absl::Status BlindOwnSet() {
    size_t n = identifiers_.size();
    own_order_.resize(n);
    for (size_t i = 0; i < n; ++i) own_order_[i] = i;
    if (options_.shuffle) Shuffle(own_order_);
    own_blinded_.resize(n);
    for (size_t begin = 0; begin < n; begin += kMaxBatchElements) {
      size_t end = std::min(n, begin + kMaxBatchElements);
      size_t failed = ParallelFor(end - begin, threads_, [&](size_t i) {
        absl::StatusOr<Element> blinded =
            Blind(key_, HashToGroup(identifiers_[own_order_[begin + i]]));
        if (!blinded.ok()) return false;
        own_blinded_[begin + i] = *blinded;
        return true;
      });
      // The one-way map never yields the identity but for a negligible set of inputs.
      if (failed != end - begin) return absl::InternalError("hash-to-group gave the identity");
      Progress("blinding own identifiers", end, n);
    }
    return absl::OkStatus();
  }

  absl::Status Send(FrameType type, const std::vector<Element>& elements) {
    for (size_t begin = 0; begin < elements.size(); begin += kMaxBatchElements) {
      size_t end = std::min(elements.size(), begin + kMaxBatchElements);
      absl::string_view payload(reinterpret_cast<const char*>(elements[begin].data()),
                                (end - begin) * sizeof(Element));
      PARLEY_RETURN_IF_ERROR(Write(type, payload));
    }
    return absl::OkStatus();
  }

  // Reads `count` elements of `type` frames, checks each, and hands each batch to `batch`
  // (position of its first element, the elements).
  absl::Status Receive(FrameType type, uint64_t count,
                       const std::function<absl::Status(uint64_t, std::vector<Element>&)>& batch) {
    absl::string_view name = ElementsName(type);
    uint64_t received = 0;
    while (received < count) {
      PARLEY_ASSIGN_OR_RETURN(
          Frame frame,
          Expect(type, absl::StrCat(name, " (element ", received + 1, " of ", count, ", in ",
                                    FrameTypeName(static_cast<uint8_t>(type)), " frames)")));
      size_t size = frame.payload.size();
      if (size == 0 || size % sizeof(Element) != 0 || size / sizeof(Element) > kMaxBatchElements) {
        return absl::InvalidArgumentError(
            absl::StrCat("the peer sent a ", FrameTypeName(frame.type), " frame of ", size,
                         " bytes; it must hold 1 to ", kMaxBatchElements, " elements of 32 bytes"));
      }
      uint64_t elements = size / sizeof(Element);
      if (received + elements > count) {
        return absl::InvalidArgumentError(absl::StrCat("the peer sent more than the ", count,
                                                       " elements of its ", name,
                                                       " that it announced"));
      }
      std::vector<Element> batch_elements(elements);
      std::memcpy(batch_elements.data(), frame.payload.data(), size);
      // Elements of the blinded set are checked by the multiplication that follows (libsodium's
      // crypto_scalarmult_ristretto255 decodes with the same check as is_valid_point and refuses
      // the identity), so that each element is decoded once; the doubly blinded ones here.
      if (type == FrameType::kDouble) {
        size_t bad = ParallelFor(elements, threads_,
                                 [&](size_t i) { return IsAcceptableElement(batch_elements[i]); });
        if (bad != elements) return InvalidElement(received + bad, name);
      }
      PARLEY_RETURN_IF_ERROR(batch(received, batch_elements));
      received += elements;
    }
    return absl::OkStatus();
  }

  // The peer's blinded set, multiplied by this side's key as it arrives.
  absl::Status ReceivePeerSet() {
    // The count is the peer's claim: memory grows with what it actually sends, never with what
    // it announces (a HELLO claiming 2^40 elements must not allocate 32 TiB up front).
    uint64_t expected = std::min<uint64_t>(peer_size_, uint64_t{1} << 20);
    peer_double_.reserve(expected);
    peer_index_.reserve(expected);
    return Receive(FrameType::kBlinded, peer_size_,
                   [&](uint64_t first, std::vector<Element>& batch) -> absl::Status {
                     size_t failed = ParallelFor(batch.size(), threads_, [&](size_t i) {
                       absl::StatusOr<Element> blinded = Blind(key_, batch[i]);
                       if (!blinded.ok()) return false;
                       batch[i] = *blinded;
                       return true;
                     });
                     if (failed != batch.size()) {
                       return InvalidElement(first + failed, ElementsName(FrameType::kBlinded));
                     }
                     for (size_t i = 0; i < batch.size(); ++i) {
                       if (!peer_index_.insert(batch[i]).second) {
                         return absl::InvalidArgumentError(
                             absl::StrCat("the peer sent element ", first + i + 1,
                                          " of its blinded set twice (a replayed element)"));
                       }
                       peer_double_.push_back(batch[i]);
                     }
                     Progress("blinding the peer's set", first + batch.size(), peer_size_);
                     return absl::OkStatus();
                   });
  }

  // The peer's set, doubly blinded, back to the peer: in its order for the intersection, under a
  // fresh secret permutation when only the size may be learnt.
  absl::Status ReturnPeerSet() {
    if (options_.mode == Mode::kCardinalityOnly && options_.shuffle) Shuffle(peer_double_);
    return Send(FrameType::kDouble, peer_double_);
  }

  absl::Status ReceiveOwnSetBack() {
    own_double_.reserve(identifiers_.size());
    absl::flat_hash_set<Element> seen;
    seen.reserve(identifiers_.size());
    return Receive(FrameType::kDouble, identifiers_.size(),
                   [&](uint64_t first, std::vector<Element>& batch) -> absl::Status {
                     for (size_t i = 0; i < batch.size(); ++i) {
                       if (!seen.insert(batch[i]).second) {
                         return absl::InvalidArgumentError(
                             absl::StrCat("the peer sent element ", first + i + 1,
                                          " of the doubly blinded set twice (a replayed element)"));
                       }
                       own_double_.push_back(batch[i]);
                     }
                     Progress("receiving own set back", first + batch.size(), identifiers_.size());
                     return absl::OkStatus();
                   });
  }

  SessionResult Compare() {
    SessionResult result;
    result.own_size = identifiers_.size();
    result.peer_size = peer_size_;
    for (size_t i = 0; i < own_double_.size(); ++i) {
      if (!peer_index_.contains(own_double_[i])) continue;
      ++result.intersection_size;
      if (options_.mode == Mode::kIntersection) result.matched.push_back(own_order_[i]);
    }
    std::sort(result.matched.begin(), result.matched.end());
    return result;
  }

  Channel& channel_;
  Role role_;
  const std::vector<std::string>& identifiers_;
  const SessionOptions& options_;
  int threads_;
  Scalar key_;
  bool peer_gone_ = false;
  uint64_t peer_size_ = 0;
  std::vector<size_t> own_order_;
  std::vector<Element> own_blinded_;  // key · H(own[own_order_[i]])
  std::vector<Element> peer_double_;  // key · peer's blinded set, in the peer's order
  absl::flat_hash_set<Element> peer_index_;
  std::vector<Element> own_double_;  // peer key · own_blinded_, as returned
};

}  // namespace

absl::StatusOr<SessionResult> RunSession(Channel& channel, Role role,
                                         const std::vector<std::string>& identifiers,
                                         const SessionOptions& options) {
  return Session(channel, role, identifiers, options).Run();
}

}  // namespace parley::psi
