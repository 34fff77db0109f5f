// The API of a Parley home: one request and one response type per use case of the service
// facade, in the words a client sees on the wire (JSON, see api/codec.h). Every front end speaks
// these types: the CLI (through its Backend, local or remote) and the HTTP server.
//
// What a response never carries: a storage record (no catalog:: type), stored JSON as a string
// (rules, audit details and violations are structured JSON values) or a path on the server (a
// table's `location` is present only for its owner; results travel as rows, never as files).
//
// Each type lists its fields once, in `Visit`, for the codec: `v.Required(name, field)` must be
// present when decoding; `v.Optional(name, field)` may be absent (a std::optional field is then
// nullopt and is omitted when encoding; any other field keeps its default and is always encoded).
// Requests carry no caller: who acts is the front end's business (`--as` locally, a token on the
// server).
//
// This header is the umbrella: it includes one header per concept (collaborations and members,
// tables and rules, queries, templates, the policy summary, audit, errors, differential privacy).
// Include the one you need, or this one for all.
#pragma once

#include "api/audit.h"
#include "api/changes.h"
#include "api/collaborations.h"
#include "api/error.h"
#include "api/jobs.h"
#include "api/policy.h"
#include "api/privacy.h"
#include "api/psi.h"
#include "api/queries.h"
#include "api/results.h"
#include "api/runs.h"
#include "api/server_data.h"
#include "api/tables.h"
#include "api/templates.h"
#include "api/usage.h"
