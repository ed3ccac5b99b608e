/* The runs' seccomp filter. Placeholder until the policy lands (issue 9): exports nothing. */
#include <errno.h>
#include "iris-launch.h"

int iris_seccomp_export(int fd)
{
    (void)fd;
    return -ENOSYS;
}
