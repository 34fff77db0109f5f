#include "psi/frames.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace parley::psi {
namespace {

void PutBigEndian(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t GetBigEndian(absl::string_view in, size_t offset, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | static_cast<uint8_t>(in[offset + i]);
  return value;
}

}  // namespace

std::string FrameTypeName(uint8_t type) {
  switch (type) {
    case static_cast<uint8_t>(FrameType::kHello):
      return "HELLO";
    case static_cast<uint8_t>(FrameType::kBlinded):
      return "BLINDED";
    case static_cast<uint8_t>(FrameType::kDouble):
      return "DOUBLE";
    case static_cast<uint8_t>(FrameType::kDone):
      return "DONE";
    case static_cast<uint8_t>(FrameType::kAbort):
      return "ABORT";
  }
  return absl::StrFormat("type 0x%02x", type);
}

absl::string_view ModeName(Mode mode) {
  return mode == Mode::kIntersection ? "intersection" : "cardinality only";
}

absl::string_view ReceiversName(Receivers receivers) {
  switch (receivers) {
    case Receivers::kBoth:
      return "both parties";
    case Receivers::kResponder:
      return "the responder only";
    case Receivers::kInitiator:
      return "the initiator only";
  }
  return "unknown";
}

absl::Status WriteFrame(Channel& channel, FrameType type, absl::string_view payload) {
  if (payload.size() > kMaxFramePayload) {
    return absl::InternalError("a frame to send exceeds the protocol's limit");
  }
  std::string frame;
  frame.reserve(5 + payload.size());
  frame.push_back(static_cast<char>(type));
  PutBigEndian(frame, payload.size(), 4);
  frame.append(payload.data(), payload.size());
  return channel.Write(frame);
}

absl::StatusOr<Frame> ReadFrame(Channel& channel) {
  char header[5];
  if (absl::Status read = channel.Read(header, sizeof header); !read.ok()) {
    if (read.code() == absl::StatusCode::kDataLoss) {
      return absl::DataLossError("truncated frame: the connection ended inside a frame header");
    }
    return read;
  }
  Frame frame;
  frame.type = static_cast<uint8_t>(header[0]);
  if (frame.type < static_cast<uint8_t>(FrameType::kHello) ||
      frame.type > static_cast<uint8_t>(FrameType::kAbort)) {
    return absl::InvalidArgumentError(absl::StrCat("the peer sent a frame of unknown ",
                                                   FrameTypeName(frame.type),
                                                   ": it does not speak the Parley PSI protocol"));
  }
  uint64_t length = GetBigEndian(absl::string_view(header, 5), 1, 4);
  if (length > kMaxFramePayload) {
    return absl::InvalidArgumentError(
        absl::StrCat("the peer sent a ", FrameTypeName(frame.type), " frame of ", length,
                     " bytes, which exceeds the limit of ", kMaxFramePayload));
  }
  frame.payload.resize(length);
  if (length > 0) {
    absl::Status read = channel.Read(frame.payload.data(), length);
    if (read.code() == absl::StatusCode::kOutOfRange ||
        read.code() == absl::StatusCode::kDataLoss) {
      return absl::DataLossError(absl::StrCat("truncated frame: the connection ended inside a ",
                                              FrameTypeName(frame.type), " frame of ", length,
                                              " bytes"));
    }
    if (!read.ok()) return read;
  }
  return frame;
}

std::string EncodeHello(const Hello& hello) {
  std::string out(kHelloMagic.data(), kHelloMagic.size());
  PutBigEndian(out, hello.version, 2);
  out.push_back(static_cast<char>(hello.mode));
  out.push_back(static_cast<char>(hello.receivers));
  PutBigEndian(out, hello.set_size, 8);
  return out;
}

absl::StatusOr<Hello> DecodeHello(absl::string_view payload) {
  if (payload.size() < kHelloMagic.size() + 2 ||
      payload.substr(0, kHelloMagic.size()) != kHelloMagic) {
    return absl::InvalidArgumentError("the peer does not speak the Parley PSI protocol");
  }
  Hello hello;
  hello.version = static_cast<uint16_t>(GetBigEndian(payload, kHelloMagic.size(), 2));
  if (hello.version != kProtocolVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("the peer speaks PSI protocol version ", hello.version,
                     "; this program speaks version ", kProtocolVersion));
  }
  if (payload.size() != kHelloSize) {
    return absl::InvalidArgumentError(absl::StrCat("the peer's HELLO has ", payload.size(),
                                                   " bytes; version 1 has ", kHelloSize));
  }
  uint8_t mode = static_cast<uint8_t>(payload[10]);
  if (mode != static_cast<uint8_t>(Mode::kIntersection) &&
      mode != static_cast<uint8_t>(Mode::kCardinalityOnly)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the peer's HELLO names an unknown mode ", static_cast<int>(mode)));
  }
  hello.mode = static_cast<Mode>(mode);
  uint8_t receivers = static_cast<uint8_t>(payload[11]);
  if (receivers > static_cast<uint8_t>(Receivers::kInitiator)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the peer's HELLO names an unknown result receiver ", static_cast<int>(receivers)));
  }
  hello.receivers = static_cast<Receivers>(receivers);
  hello.set_size = GetBigEndian(payload, 12, 8);
  if (hello.set_size > kMaxSetSize) {
    return absl::InvalidArgumentError(absl::StrCat("the peer announced ", hello.set_size,
                                                   " identifiers; the limit is ", kMaxSetSize));
  }
  return hello;
}

std::string EncodeCount(uint64_t count) {
  std::string out;
  PutBigEndian(out, count, 8);
  return out;
}

absl::StatusOr<uint64_t> DecodeCount(absl::string_view payload) {
  if (payload.size() != 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("the peer's DONE has ", payload.size(), " bytes; it has 8"));
  }
  return GetBigEndian(payload, 0, 8);
}

}  // namespace parley::psi
