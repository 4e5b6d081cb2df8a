/* CartPole in C, trained by rlscale over TCP: the protocol of docs/external.md.
 *
 * How to run:
 *   cc -O2 -o cartpole examples/external/cartpole.c -lm
 *   rlscale train examples/external/cartpole.yaml        (waits for its simulators)
 *   ./cartpole 127.0.0.1 5555 0 &   ./cartpole 127.0.0.1 5555 1 &   ...
 * Arguments: host, port, seed. The token, when the run asks for one, is read from
 * $RLSCALE_EXTERNAL_TOKEN. The simulator plays episodes until the run closes the connection.
 * Result to expect: the run reaches a 100-episode mean return of 450.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int sock = -1;
static char reply[65536];

/* One message: a 4-byte big-endian length, then the JSON. */
static int send_message(const char *json) {
    uint32_t size = htonl((uint32_t)strlen(json));
    if (send(sock, &size, 4, 0) != 4) return -1;
    size_t sent = 0, total = strlen(json);
    while (sent < total) {
        ssize_t n = send(sock, json + sent, total - sent, 0);
        if (n <= 0) return -1;
        sent += (size_t)n;
    }
    return 0;
}

static int recv_exactly(char *buffer, size_t size) {
    size_t got = 0;
    while (got < size) {
        ssize_t n = recv(sock, buffer + got, size - got, 0);
        if (n <= 0) return -1;
        got += (size_t)n;
    }
    return 0;
}

/* Reads one message into `reply` (NUL-terminated). */
static int recv_message(void) {
    uint32_t size;
    if (recv_exactly((char *)&size, 4) != 0) return -1;
    size = ntohl(size);
    if (size >= sizeof reply) return -1;
    if (recv_exactly(reply, size) != 0) return -1;
    reply[size] = '\0';
    return 0;
}

/* The action of an {"type":"action","action":N} reply (-1: not an action). */
static int action_of_reply(void) {
    if (!strstr(reply, "\"type\":\"action\"")) return -1;
    const char *at = strstr(reply, "\"action\":");
    return at ? (int)strtol(at + 9, NULL, 10) : -1;
}

static int connect_to(const char *host, const char *port) {
    struct addrinfo hints = {0}, *found;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    for (int attempt = 0; attempt < 600; attempt++) { /* the run may not listen yet */
        if (getaddrinfo(host, port, &hints, &found) == 0) {
            int s = socket(found->ai_family, found->ai_socktype, found->ai_protocol);
            if (s >= 0 && connect(s, found->ai_addr, found->ai_addrlen) == 0) {
                freeaddrinfo(found);
                int one = 1;
                setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                return s;
            }
            if (s >= 0) close(s);
            freeaddrinfo(found);
        }
        usleep(200000);
    }
    return -1;
}

/* Gymnasium's CartPole-v1 physics. */
static double state[4];
static int steps;

static double uniform(double low, double high) {
    return low + (high - low) * ((double)rand() / RAND_MAX);
}

static void cart_reset(void) {
    for (int i = 0; i < 4; i++) state[i] = uniform(-0.05, 0.05);
    steps = 0;
}

/* Steps with `action`; returns 1 when the pole fell or the cart left the track. */
static int cart_step(int action) {
    double x = state[0], x_dot = state[1], theta = state[2], theta_dot = state[3];
    double force = action == 1 ? 10.0 : -10.0;
    double c = cos(theta), s = sin(theta);
    double temp = (force + 0.05 * theta_dot * theta_dot * s) / 1.1;
    double theta_acc = (9.8 * s - c * temp) / (0.5 * (4.0 / 3.0 - 0.1 * c * c / 1.1));
    double x_acc = temp - 0.05 * theta_acc * c / 1.1;
    x += 0.02 * x_dot;
    x_dot += 0.02 * x_acc;
    theta += 0.02 * theta_dot;
    theta_dot += 0.02 * theta_acc;
    state[0] = x; state[1] = x_dot; state[2] = theta; state[3] = theta_dot;
    steps++;
    return fabs(x) > 2.4 || fabs(theta) > 12 * 2 * M_PI / 360;
}

int main(int argc, char **argv) {
    const char *host = argc > 1 ? argv[1] : "127.0.0.1";
    const char *port = argc > 2 ? argv[2] : "5555";
    srand(argc > 3 ? (unsigned)atoi(argv[3]) : 0u);
    sock = connect_to(host, port);
    if (sock < 0) { fprintf(stderr, "cannot connect to %s:%s\n", host, port); return 1; }

    char message[1024];
    const char *token = getenv("RLSCALE_EXTERNAL_TOKEN");
    if (token) snprintf(message, sizeof message,
                        "{\"type\":\"hello\",\"version\":1,\"token\":\"%s\"}", token);
    else snprintf(message, sizeof message, "{\"type\":\"hello\",\"version\":1}");
    if (send_message(message) != 0 || recv_message() != 0) return 1;
    if (!strstr(reply, "\"type\":\"welcome\"")) { fprintf(stderr, "%s\n", reply); return 1; }

    for (;;) { /* episodes, until the run closes the connection */
        cart_reset();
        snprintf(message, sizeof message, "{\"type\":\"reset\",\"obs\":[%.17g,%.17g,%.17g,%.17g]}",
                 state[0], state[1], state[2], state[3]);
        if (send_message(message) != 0 || recv_message() != 0) return 0;
        for (;;) {
            int action = action_of_reply();
            if (action < 0) { fprintf(stderr, "unexpected: %s\n", reply); return 1; }
            int terminated = cart_step(action);
            int truncated = !terminated && steps >= 500;
            snprintf(message, sizeof message,
                     "{\"type\":\"step\",\"obs\":[%.17g,%.17g,%.17g,%.17g],\"reward\":1.0,"
                     "\"terminated\":%s,\"truncated\":%s}",
                     state[0], state[1], state[2], state[3],
                     terminated ? "true" : "false", truncated ? "true" : "false");
            if (send_message(message) != 0) return 0;
            if (terminated || truncated) break; /* no reply: the next episode starts */
            if (recv_message() != 0) return 0;
        }
    }
}
