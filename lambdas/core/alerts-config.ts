import { z } from 'zod';

/**
 * Where the stack's alarms notify (config `alerts`). Without it the alarms exist, with no action.
 * - `topicArn`: an SNS topic you already have (its policy must let CloudWatch publish, and its
 *   key, if encrypted, let CloudWatch use it); every alarm notifies it on ALARM and on OK.
 * - otherwise the stack creates a topic, encrypted with a key of its own and refusing non-TLS
 *   publishers, and outputs its ARN (`AlertsTopicArn`) to subscribe to;
 * - `emails`: subscribed to that topic (each address confirms by mail before it receives).
 */
export const alertsSchema = z.strictObject({
  topicArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, "must be an SNS topic ARN ('arn:aws:sns:<region>:<account>:<name>')")
    .optional(),
  emails: z.array(z.email('must be an e-mail address')).optional(),
});

export type AlertsConfig = z.infer<typeof alertsSchema>;
