# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_umlnet_global_optspecs
    string join \n h/help V/version
end

function __fish_umlnet_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_umlnet_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_umlnet_using_subcommand
    set -l cmd (__fish_umlnet_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c umlnet -n "__fish_umlnet_needs_command" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_needs_command" -s V -l version -d 'Print version'
complete -c umlnet -n "__fish_umlnet_needs_command" -f -a "check" -d 'Check UML kernel network arguments (eth<n>=…) before booting: what each device will be, its defaults, warnings, and errors naming the field'
complete -c umlnet -n "__fish_umlnet_needs_command" -f -a "guest" -d 'Run a userspace guest on eth<n>= devices (tuntap, ethertap, mcast, daemon, slip), with ifconfig/route/arp/ping and a management console for uml_mconsole'
complete -c umlnet -n "__fish_umlnet_needs_command" -f -a "slip-bridge" -d 'Bridge SLIP on stdin/stdout to a host TUN device: the program for the kernel\'s slirp transport (eth0=slirp,,umlnet,slip-bridge,--local,<host>,--peer,<guest>)'
complete -c umlnet -n "__fish_umlnet_needs_command" -f -a "switch-status" -d 'Show a running uml_switch\'s counters, ports and learned addresses through its console socket (uml_switch -mgmt <path>)'
complete -c umlnet -n "__fish_umlnet_needs_command" -f -a "up" -d 'Set up the host side of the virtual networks in a config file: persistent TAP devices, host addresses, routes, proxy ARP, published ARP entries, forwarding, switches. Idempotent; undone on a failure half way'
complete -c umlnet -n "__fish_umlnet_needs_command" -f -a "down" -d 'Remove exactly what `umlnet up` made for a config file'
complete -c umlnet -n "__fish_umlnet_needs_command" -f -a "plan" -d 'Print what `umlnet up` would do, as commands (changes nothing)'
complete -c umlnet -n "__fish_umlnet_needs_command" -f -a "demo" -d 'The first run: our switch and two guests on a temporary socket; one pings the other and fetches a page over TCP. No root, no setup'
complete -c umlnet -n "__fish_umlnet_needs_command" -f -a "bench" -d 'Run a benchmark: `switch` (our uml_switch vs the original uml_switch and vde_switch, side by side, with ratios) or `sim` (the simulator\'s throughput)'
complete -c umlnet -n "__fish_umlnet_needs_command" -f -a "run-uml" -d 'Start a UML kernel (linux.uml) with the given command line, first making it fall back to FXSAVE on hosts whose XSAVE area is too large for it (AVX-512, AMX)'
complete -c umlnet -n "__fish_umlnet_needs_command" -f -a "lab" -d 'Netkit-style labs: start, stop, inspect and capture a directory of UML kernels on collision domains (lab.conf, lab.dep, MACHINE.startup)'
complete -c umlnet -n "__fish_umlnet_needs_command" -f -a "completions" -d 'Write the shell completion script for bash, zsh or fish to stdout'
complete -c umlnet -n "__fish_umlnet_needs_command" -f -a "manpages" -d 'Write umlnet\'s man pages (umlnet.1, umlnet-<command>.1) into a directory, e.g. ~/.local/share/man/man1 after `cargo install` (the Debian package has them)'
complete -c umlnet -n "__fish_umlnet_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c umlnet -n "__fish_umlnet_using_subcommand check" -l guest-ip -d 'The address the guest will give a device, as DEV=IP (e.g. eth0=192.168.0.253), to show the fe:fd:<ip> MAC the UML networking page derives from it. Repeatable' -r
complete -c umlnet -n "__fish_umlnet_using_subcommand check" -l no-host-checks -d 'Only check the syntax; do not look at this host (switch sockets, tap devices, the uml_net helper)'
complete -c umlnet -n "__fish_umlnet_using_subcommand check" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand guest" -s c -d 'A command to run (repeatable, in order)' -r
complete -c umlnet -n "__fish_umlnet_using_subcommand guest" -l script -d 'A file of commands, one a line, run after the -c commands' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand guest" -l helper -d 'The uml_net helper for tuntap, ethertap and slip (default: uml_net on PATH, then /usr/lib/uml)' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand guest" -l seed -d 'Seed for TCP sequence numbers, ports and ping ids (default: from the clock)' -r
complete -c umlnet -n "__fish_umlnet_using_subcommand guest" -l wait -d 'Keep running after the commands and stdin are done, until SIGINT/SIGTERM or mconsole halt'
complete -c umlnet -n "__fish_umlnet_using_subcommand guest" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand slip-bridge" -l local -d 'The host end\'s address' -r
complete -c umlnet -n "__fish_umlnet_using_subcommand slip-bridge" -l peer -d 'The guest\'s address (the other end of the line)' -r
complete -c umlnet -n "__fish_umlnet_using_subcommand slip-bridge" -l dev -d 'The TUN device\'s name (a `%d` is replaced by the first free number)' -r
complete -c umlnet -n "__fish_umlnet_using_subcommand slip-bridge" -l dry-run -d 'Print the host setup and exit without changing anything'
complete -c umlnet -n "__fish_umlnet_using_subcommand slip-bridge" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand switch-status" -l json -d 'Print one JSON object (mode, counters, ports, addresses) instead of the console\'s text'
complete -c umlnet -n "__fish_umlnet_using_subcommand switch-status" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand up" -s c -l config -d 'The config file' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand up" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand down" -s c -l config -d 'The config file' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand down" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand plan" -s c -l config -d 'The config file' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand plan" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand demo" -l firmware -d 'The firmware for --baremetal [default: target/thumbv7m-none-eabi/firmware/umlnet-firmware]' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand demo" -l kernel -d 'The UML kernel for --real-uml and --baremetal' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand demo" -l switch-child -d '(internal) Run as the demo\'s switch on this control socket' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand demo" -l mgmt -d '(internal) The switch\'s console socket' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand demo" -l real-uml -d 'Boot two real UML kernels (linux.uml) on the switch, in a private network namespace (needs root)'
complete -c umlnet -n "__fish_umlnet_using_subcommand demo" -l baremetal -d 'Boot the bare-metal firmware in QEMU (mps2-an385) and one real UML kernel on the switch, in a private network namespace (needs root and qemu-system-arm)'
complete -c umlnet -n "__fish_umlnet_using_subcommand demo" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c umlnet -n "__fish_umlnet_using_subcommand run-uml" -l kernel -d 'The UML kernel to start (looked up on PATH)' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand run-uml" -l xstate-shim -d 'When to preload the XSAVE shim (libumlnet_xstate.so) into the kernel' -r -f -a "auto\t'Where the host\'s XSAVE area is larger than the kernel\'s (CPUID leaf 0xD)'
on\t'Always'
off\t'Never'"
complete -c umlnet -n "__fish_umlnet_using_subcommand run-uml" -l explain -d 'Print whether the shim applies on this host, and why, then exit'
complete -c umlnet -n "__fish_umlnet_using_subcommand run-uml" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and not __fish_seen_subcommand_from start stop crash status exec console dump connect check domain-daemon help" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and not __fish_seen_subcommand_from start stop crash status exec console dump connect check domain-daemon help" -f -a "start" -d 'Start the lab\'s domains, then its machines in lab.dep order (all, or those named)'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and not __fish_seen_subcommand_from start stop crash status exec console dump connect check domain-daemon help" -f -a "stop" -d 'Run each machine\'s shutdown scripts, halt it, stop the domains, clean up'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and not __fish_seen_subcommand_from start stop crash status exec console dump connect check domain-daemon help" -f -a "crash" -d 'Kill every machine and switch at once and clean up'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and not __fish_seen_subcommand_from start stop crash status exec console dump connect check domain-daemon help" -f -a "status" -d 'The machines, their state and interfaces; the domains, their ports and the addresses seen on them'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and not __fish_seen_subcommand_from start stop crash status exec console dump connect check domain-daemon help" -f -a "exec" -d 'Run a command (words joined by spaces, run by sh) in a running machine; exits with its status'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and not __fish_seen_subcommand_from start stop crash status exec console dump connect check domain-daemon help" -f -a "console" -d 'Attach to a shell on a running machine\'s second console (Ctrl-] leaves)'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and not __fish_seen_subcommand_from start stop crash status exec console dump connect check domain-daemon help" -f -a "dump" -d 'Write a domain\'s traffic as pcap (to stdout, or -w FILE), without root'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and not __fish_seen_subcommand_from start stop crash status exec console dump connect check domain-daemon help" -f -a "connect" -d 'Plug a new interface of a running machine into a domain (hot-plug, mconsole)'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and not __fish_seen_subcommand_from start stop crash status exec console dump connect check domain-daemon help" -f -a "check" -d 'Check a lab directory: every error and warning, with file and line'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and not __fish_seen_subcommand_from start stop crash status exec console dump connect check domain-daemon help" -f -a "domain-daemon" -d '(internal) Run a domain\'s switch'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and not __fish_seen_subcommand_from start stop crash status exec console dump connect check domain-daemon help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from start" -s d -l dir -d 'The lab directory (default: the current directory)' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from start" -l kernel -d 'The UML kernel for machines without kernel= in lab.conf' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from start" -l timeout -d 'Seconds a machine may take from boot to the end of its startup scripts' -r
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from start" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from stop" -s d -l dir -d 'The lab directory (default: the current directory)' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from stop" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from crash" -s d -l dir -d 'The lab directory (default: the current directory)' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from crash" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from status" -s d -l dir -d 'The lab directory (default: the current directory)' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from exec" -s d -l dir -d 'The lab directory (default: the current directory)' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from exec" -l timeout -d 'Seconds to wait for the command (default: as long as it runs)' -r
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from exec" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from console" -s d -l dir -d 'The lab directory (default: the current directory)' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from console" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from dump" -s d -l dir -d 'The lab directory (default: the current directory)' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from dump" -s w -d 'Write to this file instead of stdout' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from dump" -s c -l count -d 'Stop after this many frames' -r
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from dump" -l seconds -d 'Stop after this many seconds' -r
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from dump" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from connect" -s d -l dir -d 'The lab directory (default: the current directory)' -r -F
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from connect" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from domain-daemon" -l switched
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from domain-daemon" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "start" -d 'Start the lab\'s domains, then its machines in lab.dep order (all, or those named)'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "stop" -d 'Run each machine\'s shutdown scripts, halt it, stop the domains, clean up'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "crash" -d 'Kill every machine and switch at once and clean up'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "status" -d 'The machines, their state and interfaces; the domains, their ports and the addresses seen on them'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "exec" -d 'Run a command (words joined by spaces, run by sh) in a running machine; exits with its status'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "console" -d 'Attach to a shell on a running machine\'s second console (Ctrl-] leaves)'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "dump" -d 'Write a domain\'s traffic as pcap (to stdout, or -w FILE), without root'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "connect" -d 'Plug a new interface of a running machine into a domain (hot-plug, mconsole)'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "check" -d 'Check a lab directory: every error and warning, with file and line'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "domain-daemon" -d '(internal) Run a domain\'s switch'
complete -c umlnet -n "__fish_umlnet_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c umlnet -n "__fish_umlnet_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c umlnet -n "__fish_umlnet_using_subcommand manpages" -s h -l help -d 'Print help'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and not __fish_seen_subcommand_from check guest slip-bridge switch-status up down plan demo bench run-uml lab completions manpages help" -f -a "check" -d 'Check UML kernel network arguments (eth<n>=…) before booting: what each device will be, its defaults, warnings, and errors naming the field'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and not __fish_seen_subcommand_from check guest slip-bridge switch-status up down plan demo bench run-uml lab completions manpages help" -f -a "guest" -d 'Run a userspace guest on eth<n>= devices (tuntap, ethertap, mcast, daemon, slip), with ifconfig/route/arp/ping and a management console for uml_mconsole'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and not __fish_seen_subcommand_from check guest slip-bridge switch-status up down plan demo bench run-uml lab completions manpages help" -f -a "slip-bridge" -d 'Bridge SLIP on stdin/stdout to a host TUN device: the program for the kernel\'s slirp transport (eth0=slirp,,umlnet,slip-bridge,--local,<host>,--peer,<guest>)'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and not __fish_seen_subcommand_from check guest slip-bridge switch-status up down plan demo bench run-uml lab completions manpages help" -f -a "switch-status" -d 'Show a running uml_switch\'s counters, ports and learned addresses through its console socket (uml_switch -mgmt <path>)'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and not __fish_seen_subcommand_from check guest slip-bridge switch-status up down plan demo bench run-uml lab completions manpages help" -f -a "up" -d 'Set up the host side of the virtual networks in a config file: persistent TAP devices, host addresses, routes, proxy ARP, published ARP entries, forwarding, switches. Idempotent; undone on a failure half way'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and not __fish_seen_subcommand_from check guest slip-bridge switch-status up down plan demo bench run-uml lab completions manpages help" -f -a "down" -d 'Remove exactly what `umlnet up` made for a config file'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and not __fish_seen_subcommand_from check guest slip-bridge switch-status up down plan demo bench run-uml lab completions manpages help" -f -a "plan" -d 'Print what `umlnet up` would do, as commands (changes nothing)'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and not __fish_seen_subcommand_from check guest slip-bridge switch-status up down plan demo bench run-uml lab completions manpages help" -f -a "demo" -d 'The first run: our switch and two guests on a temporary socket; one pings the other and fetches a page over TCP. No root, no setup'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and not __fish_seen_subcommand_from check guest slip-bridge switch-status up down plan demo bench run-uml lab completions manpages help" -f -a "bench" -d 'Run a benchmark: `switch` (our uml_switch vs the original uml_switch and vde_switch, side by side, with ratios) or `sim` (the simulator\'s throughput)'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and not __fish_seen_subcommand_from check guest slip-bridge switch-status up down plan demo bench run-uml lab completions manpages help" -f -a "run-uml" -d 'Start a UML kernel (linux.uml) with the given command line, first making it fall back to FXSAVE on hosts whose XSAVE area is too large for it (AVX-512, AMX)'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and not __fish_seen_subcommand_from check guest slip-bridge switch-status up down plan demo bench run-uml lab completions manpages help" -f -a "lab" -d 'Netkit-style labs: start, stop, inspect and capture a directory of UML kernels on collision domains (lab.conf, lab.dep, MACHINE.startup)'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and not __fish_seen_subcommand_from check guest slip-bridge switch-status up down plan demo bench run-uml lab completions manpages help" -f -a "completions" -d 'Write the shell completion script for bash, zsh or fish to stdout'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and not __fish_seen_subcommand_from check guest slip-bridge switch-status up down plan demo bench run-uml lab completions manpages help" -f -a "manpages" -d 'Write umlnet\'s man pages (umlnet.1, umlnet-<command>.1) into a directory, e.g. ~/.local/share/man/man1 after `cargo install` (the Debian package has them)'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and not __fish_seen_subcommand_from check guest slip-bridge switch-status up down plan demo bench run-uml lab completions manpages help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "start" -d 'Start the lab\'s domains, then its machines in lab.dep order (all, or those named)'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "stop" -d 'Run each machine\'s shutdown scripts, halt it, stop the domains, clean up'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "crash" -d 'Kill every machine and switch at once and clean up'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "status" -d 'The machines, their state and interfaces; the domains, their ports and the addresses seen on them'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "exec" -d 'Run a command (words joined by spaces, run by sh) in a running machine; exits with its status'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "console" -d 'Attach to a shell on a running machine\'s second console (Ctrl-] leaves)'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "dump" -d 'Write a domain\'s traffic as pcap (to stdout, or -w FILE), without root'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "connect" -d 'Plug a new interface of a running machine into a domain (hot-plug, mconsole)'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "check" -d 'Check a lab directory: every error and warning, with file and line'
complete -c umlnet -n "__fish_umlnet_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "domain-daemon" -d '(internal) Run a domain\'s switch'
