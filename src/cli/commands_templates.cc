// Analysis template commands: template create|show|list|approve|revoke|run.
#include <iostream>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/command_line.h"
#include "cli/output.h"

namespace parley::cli {

// `--param name=value` flags as a map. The values are the caller's own; the message repeats
// only the flag's form.
absl::StatusOr<std::map<std::string, std::string>> Cli::ParameterValues() {
  std::map<std::string, std::string> values;
  for (const std::string& flag : parameter_flags_) {
    size_t equals = flag.find('=');
    if (equals == std::string::npos || equals == 0) {
      return absl::InvalidArgumentError(
          "--param takes name=value when running a template (e.g. --param min_spend=1000)");
    }
    std::string name = flag.substr(0, equals);
    if (!values.emplace(name, flag.substr(equals + 1)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter '", name, "' is given more than once"));
    }
  }
  return values;
}

void Cli::AddTemplateCommands() {
  CLI::App* group = Group("template", "analysis templates: create, review, approve and run them");
  auto* create = group->add_subcommand(
      "create", "store a parameterised query; prints its id (the SHA-256 of its content)");
  AddQueryOptions(create);
  create->add_option("name", template_name_, "a name for people")->required();
  create->add_option("--param", parameter_flags_,
                     "a parameter used as :name in the SQL: name:type[=default], type one of "
                     "integer, number, text, date, boolean (repeatable)");
  Add(create, [this] {
    if (auto usage = QueryUsage(/*needs_text=*/true)) return Usage(*usage);
    auto text = QueryText();
    if (!text.ok()) return Fail(text.status());
    api::CreateTemplateRequest request{globals_.collaboration, template_name_, *text,
                                       parameter_flags_};
    return Answer(OpenBackend()->CreateTemplate(request), [](const auto& r) {
      std::cout << r.template_.id << "\n" << TemplateSummary(r.template_) << "\n";
      return 0;
    });
  });

  auto* show = group->add_subcommand(
      "show", "a template for review: its SQL, parameters, tables and approvals");
  AddCollaborationOption(show);
  show->add_option("id", template_id_, "its id, or a unique prefix of it")->required();
  Add(show, [this] {
    return Answer(OpenBackend()->ShowTemplate({globals_.collaboration, template_id_}),
                  [](const auto& r) {
                    PrintTemplate(std::cout, r.template_);
                    return 0;
                  });
  });

  auto* list = group->add_subcommand("list", "the templates of a collaboration");
  AddCollaborationOption(list);
  Add(list, [this] {
    return Answer(OpenBackend()->ListTemplates({globals_.collaboration}), [](const auto& r) {
      for (const api::Template& view : r.templates) PrintTemplateLine(std::cout, view);
      return 0;
    });
  });

  // approve and revoke: the owner of a table with a custom rule changes its allowed_analyses.
  using Change =
      absl::StatusOr<api::TemplateResponse> (Backend::*)(const api::TemplateApprovalRequest&);
  struct Approval {
    const char* name;
    const char* description;
    Change change;
    const char* done;
  };
  for (const Approval& approval :
       {Approval{"approve", "let a template read a table you own (its custom rule)",
                 &Backend::ApproveTemplate, "approved"},
        Approval{"revoke", "withdraw a template's approval for a table you own",
                 &Backend::RevokeTemplate, "revoked"}}) {
    auto* command = group->add_subcommand(approval.name, approval.description);
    AddCollaborationOption(command);
    command->add_option("id", template_id_, "its id, or a unique prefix of it")->required();
    command
        ->add_option("--table", template_table_,
                     "a table you own with a custom rule, or co-own (a saved query result: "
                     "each co-owner approves for itself)")
        ->required();
    Add(command, [this, approval] {
      std::unique_ptr<Backend> backend = OpenBackend();
      return Answer(
          ((*backend).*approval.change)({globals_.collaboration, template_id_, template_table_}),
          [&](const auto& r) {
            std::cout << approval.done << " template " << ShortId(r.template_.id) << " for table "
                      << template_table_ << "\n"
                      << TemplateSummary(r.template_) << "\n";
            return 0;
          });
    });
  }

  auto* run = group->add_subcommand(
      "run", "run a template with parameter values; results go to its receivers");
  AddCollaborationOption(run);
  run->add_option("id", template_id_, "its id, or a unique prefix of it")->required();
  run->add_option("--param", parameter_flags_, "a parameter value: name=value (repeatable)");
  run->add_option("--receiver", receivers_,
                  "a member who receives the result (repeatable; default: --as)");
  AddOutputOptions(run);
  AddEpsilonOption(run);
  AddAccuracyOptions(run);
  run->add_flag("--detach", detach_,
                "with --server: print the run's id once it is queued, and return (follow it "
                "with `query status|wait|cancel`)");
  Add(run, [this] {
    if (auto usage = QueryUsage(/*needs_text=*/false)) return Usage(*usage);
    if (detach_ && !remote()) {
      return Usage("--detach needs a server (--server): here a query runs while the command waits");
    }
    auto values = ParameterValues();
    if (!values.ok()) return Usage(values.status().message());
    std::unique_ptr<Backend> backend = OpenBackend();
    CancelQueriesOnInterrupt();
    if (remote()) {
      api::SubmitRunRequest submit{.collaboration = globals_.collaboration,
                                   .template_id = template_id_,
                                   .parameters = *values,
                                   .receivers = receivers_,
                                   .epsilon = Epsilon()};
      SetAccuracy(submit.accuracy, submit.confidence);
      return SubmitAndReport(*backend, submit);
    }
    api::RunTemplateRequest request{globals_.collaboration, template_id_, *values, receivers_};
    request.epsilon = Epsilon();
    SetAccuracy(request.accuracy, request.confidence);
    absl::StatusOr<api::RunTemplateResponse> response = backend->RunTemplate(request);
    if (absl::Status opened = OpenSealed(*backend, response); !opened.ok()) return Fail(opened);
    return Report(response);
  });
}
}  // namespace parley::cli
