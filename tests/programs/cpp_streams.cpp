/*
 * cpp_streams.cpp - std::cout, std::cerr and std::clog.
 *
 * By default iostreams sit on C stdio (fwrite/putc on stdout), which only
 * the stdio hook sees; with the argument "nosync", sync_with_stdio(false)
 * gives them their own buffers flushed by write(2).
 */
#include <cstring>
#include <iostream>

int main(int argc, char **argv)
{
    if (argc > 1 && std::strcmp(argv[1], "nosync") == 0)
        std::ios::sync_with_stdio(false);
    for (int i = 0; i < 200; i++)
        std::cout << "cout line " << i << ' ' << 3.25 * i << '\n';
    std::cout << "cout with endl" << std::endl;
    std::cerr << "cerr " << "in " << "pieces " << 42 << "\n";
    std::clog << "clog line" << std::endl;
    std::cout << "last cout line\n";
    return 0;
}
