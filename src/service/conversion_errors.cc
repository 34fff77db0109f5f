// A data owner's own query whose conversion fails (issue 9): `CAST(note AS INTEGER)` or
// `note::int` over a value that is not a number. The engine reports only the class of such an
// error ("conversion error"), never the value. When every table the query reads is the runner's
// own, the runner may see every row anyway, so Parley finds which conversion failed and names
// it — its position and the columns it reads, still never the value: it runs the query again
// once per conversion, with that conversion strict and every other one as TRY_CAST; the first
// that still fails is the one. Queries that read another member's table keep the generic
// answer (and under aggregation and list rules RunFailure), so what fails never says anything
// of rows the runner may not see (docs/rules.md, "What a run reveals").
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/service_impl.h"
#include "sql/parser.h"

namespace parley::service {

using namespace internal;

namespace {

constexpr char kConversionFailure[] = "query failed during execution: conversion error";

std::string DescribeColumns(const std::vector<std::string>& columns) {
  std::vector<std::string> quoted;
  for (const std::string& column : columns) quoted.push_back(absl::StrCat("'", column, "'"));
  if (quoted.size() == 1) return absl::StrCat("column ", quoted[0]);
  return absl::StrCat("columns ", absl::StrJoin(quoted, ", "));
}

}  // namespace

absl::Status Service::Impl::DiagnoseConversion(const QueryContext& context, const Request& request,
                                               const Explanation& explanation,
                                               absl::Status failure) {
  if (failure.message() != kConversionFailure || explanation.conversions.empty() ||
      explanation.noise.has_value() || explanation.tables.empty()) {
    return failure;
  }
  for (const std::string& name : explanation.tables) {
    bool own = false;
    for (const catalog::Table& table : context.tables) {
      if (table.name == name) own = table.owner == context.member.name;
    }
    if (!own) return failure;
  }
  for (const query::Conversion& conversion : explanation.conversions) {
    query::Request probe;
    probe.sql = request.parse_sql;
    probe.bind = request.bind;
    probe.runner = context.member.name;
    probe.template_id = request.template_id;
    probe.receivers = request.receivers;
    probe.strict_conversion = conversion.location;
    absl::StatusOr<query::Compiled> compiled = query::Compile(*context.snapshot, probe);
    if (!compiled.ok() || !compiled->verdict.allowed()) continue;
    Explanation strict;
    strict.verdict = std::move(compiled->verdict);
    strict.rendered_sql = std::move(compiled->plan.rendered_sql);
    strict.tables = explanation.tables;
    absl::StatusOr<engine::ResultTable> run = Execute(context, strict);
    if (run.ok() || run.status().message() != kConversionFailure) continue;
    std::string where = sql::DescribePosition(request.parse_sql, conversion.location);
    return absl::Status(failure.code(),
                        absl::StrCat("query failed during execution: a value of ",
                                     DescribeColumns(conversion.columns),
                                     " could not be converted to ", conversion.type,
                                     " by the conversion at ", where, " (the value is not shown)"));
  }
  return failure;
}

}  // namespace parley::service
