/* The state names of master/coord_types.h: static text, any thread. */
#include "master/coord_types.h"

const char *coord_state_name(coord_state s)
{
    static const char *names[] = { "idle", "waiting", "running", "stopping", "finished", "aborted" };
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}
