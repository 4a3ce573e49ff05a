/* The thin client: served.c. */
#ifndef TSNET_SERVED_H
#define TSNET_SERVED_H

/*
 * Have the daemon run the command line over its CLI socket and exit with the command's code.
 * Returns (having changed nothing the node CLI would see) when node is to run it instead.
 */
void try_served(int argc, char **argv, int debug);

#endif
