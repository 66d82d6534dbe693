// The real /shoe, next to a command that fails, for the router tests.
export * from '../../../commands/shoe.ts';
