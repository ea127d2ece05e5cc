"""Throwaway PostgreSQL and Redis servers from the Debian packages, on loopback and private
sockets, for proving the settings the stacks render. Installed by `tools/install-servers.sh`."""
