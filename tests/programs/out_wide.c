/*
 * out_wide.c - wide-oriented stdio (wprintf, fputws, fwprintf on stderr):
 * glibc converts through the wide jump table before the write slot.
 */
#include <locale.h>
#include <stdio.h>
#include <wchar.h>

int main(void)
{
    if (!setlocale(LC_ALL, "C.UTF-8"))
        return 12;
    for (int i = 0; i < 100; i++)
        wprintf(L"wide line %03d: caf\u00e9 \u20ac \U0001F600\n", i);
    fputws(L"fputws line \u00fcber\n", stdout);
    fwprintf(stderr, L"wide stderr line %d \u00e9\n", 1);
    return 0;
}
