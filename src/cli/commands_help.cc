// The command line itself: `help [command]`, `completion bash|zsh`, `--version`, and the check
// that runs before CLI11 parses, so that a mistyped command or flag is named as such (with the
// closest real one) instead of surfacing as whatever CLI11 happens to notice first (a missing
// required flag, "a subcommand is required").
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/command_line.h"

namespace parley::cli {
namespace {

// Levenshtein distance, for "did you mean".
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "; did you mean 'X'?" for the closest candidate within a few edits (a transposition counts two),
// or "".
std::string DidYouMean(const std::string& typed, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, typed.size() / 3) + 1;
  for (const std::string& candidate : candidates) {
    size_t distance = EditDistance(typed, candidate);
    if (absl::StartsWith(candidate, typed) && typed.size() >= 3) distance = 1;
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best.empty() ? "" : absl::StrCat("; did you mean '", best, "'?");
}

std::vector<CLI::App*> Subcommands(CLI::App* app) {
  return app->get_subcommands([](CLI::App*) { return true; });
}

CLI::App* FindSubcommand(CLI::App* app, const std::string& name) {
  for (CLI::App* sub : Subcommands(app)) {
    if (sub->get_name() == name) return sub;
  }
  return nullptr;
}

// "parley query run" for the query run command.
std::string PathOf(const CLI::App* app) {
  std::vector<std::string> names;
  for (const CLI::App* at = app; at != nullptr; at = at->get_parent()) {
    names.push_back(at->get_parent() == nullptr ? "parley" : at->get_name());
  }
  std::reverse(names.begin(), names.end());
  return absl::StrJoin(names, " ");
}

// Every flag name (--long, -s) an app accepts itself.
std::vector<std::string> FlagNames(CLI::App* app) {
  std::vector<std::string> names;
  for (const CLI::Option* option : app->get_options()) {
    for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
    for (const std::string& name : option->get_snames()) names.push_back("-" + name);
  }
  return names;
}

// Every command, depth first: the leaves and groups under `app`.
void CollectCommands(CLI::App* app, std::vector<CLI::App*>& out) {
  for (CLI::App* sub : Subcommands(app)) {
    out.push_back(sub);
    CollectCommands(sub, out);
  }
}

}  // namespace

std::optional<std::string> Cli::CheckCommandLine(int argc, char** argv) {
  std::vector<CLI::App*> chain = {&app_};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() > 1 && arg[0] == '-') {
      std::string name = arg.substr(0, arg.find('='));
      const CLI::Option* found = nullptr;
      // The innermost command first, then the commands around it (global flags may come
      // anywhere), as CLI11 resolves them.
      for (auto app = chain.rbegin(); app != chain.rend() && found == nullptr; ++app) {
        for (const CLI::Option* option : (*app)->get_options()) {
          if (option->check_name(name)) found = option;
        }
      }
      if (found == nullptr) {
        std::vector<std::string> candidates;
        for (CLI::App* app : chain) {
          for (const std::string& flag : FlagNames(app)) candidates.push_back(flag);
        }
        return absl::StrCat("unknown flag '", name, "' for '", PathOf(chain.back()), "'",
                            DidYouMean(name, candidates), " (see 'parley help",
                            chain.size() > 1 ? PathOf(chain.back()).substr(6) : "", "')");
      }
      if (found->get_expected_min() > 0 && arg.find('=') == std::string::npos) ++i;
      continue;
    }
    CLI::App* current = chain.back();
    if (Subcommands(current).empty()) continue;  // a positional argument of the command
    CLI::App* sub = FindSubcommand(current, arg);
    if (sub == nullptr) {
      std::vector<std::string> names;
      for (CLI::App* candidate : Subcommands(current)) names.push_back(candidate->get_name());
      return absl::StrCat("'", arg, "' is not a command of '", PathOf(current), "'",
                          DidYouMean(arg, names), " (see 'parley help",
                          chain.size() > 1 ? PathOf(current).substr(6) : "", "')");
    }
    chain.push_back(sub);
  }
  return std::nullopt;
}

void Cli::AddHelpCommands() {
  auto* help = app_.add_subcommand("help", "help on parley or on one of its commands");
  help->add_option("command", help_path_, "a command, e.g. `query run`");
  help->add_flag("--commands", help_list_, "list every command, one per line");
  Add(
      help,
      [this] {
        if (help_list_) {
          std::vector<CLI::App*> all;
          CollectCommands(&app_, all);
          for (CLI::App* command : all) std::cout << PathOf(command).substr(7) << "\n";
          return 0;
        }
        CLI::App* target = &app_;
        for (const std::string& name : help_path_) {
          CLI::App* sub = FindSubcommand(target, name);
          if (sub == nullptr) {
            std::vector<std::string> names;
            for (CLI::App* candidate : Subcommands(target)) names.push_back(candidate->get_name());
            return Usage(absl::StrCat("'", name, "' is not a command of '", PathOf(target), "'",
                                      DidYouMean(name, names)));
          }
          target = sub;
        }
        // App::help() of a command whose subcommand was parsed (this one, `help`) would describe
        // that subcommand: the formatter describes exactly the target.
        std::cout << target->get_formatter()->make_help(
            target,
            target == &app_ ? "parley" : PathOf(target->get_parent()) + " " + target->get_name(),
            CLI::AppFormatMode::Normal);
        return 0;
      },
      /*needs_actor=*/false);

  auto* completion =
      app_.add_subcommand("completion", "print a shell completion script: bash or zsh");
  completion->add_option("shell", completion_shell_, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  Add(
      completion,
      [this] {
        std::cout << CompletionScript(completion_shell_);
        return 0;
      },
      /*needs_actor=*/false);
}

// The script is generated from the command table: for each command path, its subcommands and
// flags (the global flags included), as a bash function; zsh runs the same function through its
// bash completion compatibility.
std::string Cli::CompletionScript(const std::string& shell) {
  std::vector<CLI::App*> all = {&app_};
  CollectCommands(&app_, all);
  std::string cases;
  for (CLI::App* command : all) {
    std::vector<std::string> words;
    for (CLI::App* sub : Subcommands(command)) words.push_back(sub->get_name());
    for (CLI::App* at = command; at != nullptr; at = at->get_parent()) {
      for (const std::string& flag : FlagNames(at)) {
        if (std::find(words.begin(), words.end(), flag) == words.end()) words.push_back(flag);
      }
    }
    std::string key = command == &app_ ? "" : PathOf(command).substr(7);
    absl::StrAppend(&cases, "    \"", key, "\") words=\"", absl::StrJoin(words, " "), "\" ;;\n");
  }
  std::string script = absl::StrCat(
      "# parley completion for ", shell, " (generated by `parley completion ", shell, "`)\n",
      shell == "zsh" ? "autoload -U +X bashcompinit && bashcompinit\n" : "",
      "_parley() {\n"
      "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" path=\"\" i word words\n"
      "  # The command path typed so far: the words naming commands, skipping flags.\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    word=\"${COMP_WORDS[i]}\"\n"
      "    case \"$word\" in -*) continue ;; esac\n"
      "    if _parley_words \"${path# }\" | tr ' ' '\\n' | grep -qx -- \"$word\"; then\n"
      "      path=\"$path $word\"\n"
      "    fi\n"
      "  done\n"
      "  words=\"$(_parley_words \"${path# }\")\"\n"
      "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
      "}\n"
      "_parley_words() {\n"
      "  local words=\"\"\n"
      "  case \"$1\" in\n",
      cases,
      "  esac\n"
      "  echo \"$words\"\n"
      "}\n"
      "complete -F _parley parley\n");
  return script;
}

}  // namespace parley::cli
