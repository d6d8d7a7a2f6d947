/*
 * list.h - an intrusive doubly linked list.
 *
 * The assembler keeps pending lines on two lists at once (per connection, and
 * by age for the timeout) and the server keeps its connections on one; an
 * embedded node makes insertion and removal O(1) without allocation.
 */
#ifndef ULOGD_LIST_H
#define ULOGD_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_node {
    struct list_node *prev, *next;
};

#define LIST_ENTRY(node, type, member) ((type *)((char *)(node) - offsetof(type, member)))

static inline void list_init(struct list_node *head)
{
    head->prev = head->next = head;
}

static inline bool list_empty(const struct list_node *head)
{
    return head->next == head;
}

static inline void list_add_tail(struct list_node *head, struct list_node *node)
{
    node->prev = head->prev;
    node->next = head;
    head->prev->next = node;
    head->prev = node;
}

static inline void list_remove(struct list_node *node)
{
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->prev = node->next = node;
}

#endif
