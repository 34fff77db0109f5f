#include "cli/commands.h"

int main(int argc, char** argv) { return parley::cli::Main(argc, argv); }
