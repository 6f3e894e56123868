/** What the commands of the command line share: one way to word a bad command line. */
package dev.llmproxy.cli;
