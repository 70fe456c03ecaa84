// relaygate — inbound mail filter. The entry point: builds the command tree and maps errors to
// exit statuses.
#include <iostream>
#include <string_view>

#include "cli/cli.hpp"

namespace relaygate::cli {

void print_error(const std::string& what)
{
    std::cerr << "relaygate: " << what << '\n';
}

bool is_pipe_invocation(int argc, char** argv)
{
    return argc > 1 && std::string_view(argv[1]) == "pipe";
}

}  // namespace relaygate::cli

int main(int argc, char** argv)
{
    using namespace relaygate::cli;

    CLI::App app{"relaygate: SPF, DKIM, DMARC, header, connection and payload checks for "
                 "inbound mail, with JSON verdicts or relaying to an upstream SMTP server"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("relaygate ") + RELAYGATE_VERSION);

    int exit_code = exit_ok;
    add_check_command(app, exit_code);
    add_dns_command(app, exit_code);
    add_config_command(app, exit_code);
    add_scan_command(app, exit_code);
    add_pipe_command(app, exit_code);
    add_model_commands(app, exit_code);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        print_error(e.what());
        std::cerr << "Run with --help for more information.\n";
        // An MTA bounces mail on most non-zero statuses; a mistake in the pipe command line
        // is the administrator's to fix, so the MTA must keep the message (EX_TEMPFAIL).
        return is_pipe_invocation(argc, argv) ? exit_pipe_tempfail : exit_usage;
    } catch (const UsageError& e) {
        print_error(e.what());
        return exit_usage;
    } catch (const std::exception& e) {
        print_error(e.what());
        return exit_usage;
    }
    return exit_code;
}
