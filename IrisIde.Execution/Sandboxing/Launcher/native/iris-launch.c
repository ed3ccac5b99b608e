/* Placeholder until the launcher lands (issue 9). */
#include <stdio.h>
#include "iris-launch.h"

int main(void)
{
    fputs("iris-launch: not built yet\n", stderr);
    return 125;
}
